import { createObjectStore } from '../../storage/object-store.js';
import { DEFAULT_RETRY } from '../../storage/retry.js';
import { s3ConfigFromEnv } from '../../storage/s3-config.js';
import { defaultTokenizer, type TextTokenizer } from '../../data/pipeline/text-tokenizer.js';
import { checkTokenizerFitsModel, loadTokenizerWithIdentity, tokenizerSha256, type TokenizerIdentity } from '../../data/pipeline/tokenizer-identity.js';
import { UsageError } from '../../errors/index.js';
import type { SafeTensor } from '../../model/safetensors.js';

/** `--tokenizer` of a `fiber model` command: loaded (path, file://, s3://, http(s)://) and checked against the model's rows. */
export async function loadFlagTokenizer(location: string, modelVocabSize: number): Promise<{ tokenizer: TextTokenizer; identity: TokenizerIdentity }> {
  const store = createObjectStore({ s3: s3ConfigFromEnv(process.env), retry: DEFAULT_RETRY });
  try {
    const loaded = await loadTokenizerWithIdentity(location, store);
    checkTokenizerFitsModel(loaded.identity, modelVocabSize, '--tokenizer');
    return loaded;
  } finally {
    await store.close();
  }
}

const FIX = 'pass --tokenizer DIR, a folder with roberta-base\'s vocab.json + merges.txt (or its tokenizer.json), as published with the weights';

/**
 * Pretrained RoBERTa embeddings are rows of roberta-base's vocabulary (fairseq order); the default
 * tokenizer has the same special ids and size but GPT-2's order for every other token, so with it
 * each word would read another word's embedding. Refuse anything that is not RoBERTa-shaped: not
 * the default, <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last, one id per embedding row of the file.
 */
export function checkRobertaTokenizer(identity: TokenizerIdentity | undefined, tensors: ReadonlyMap<string, SafeTensor>, file: string): void {
  if (!identity || identity.sha256 === tokenizerSha256(defaultTokenizer())) throw missingRobertaTokenizer(file);
  const emb = [...tensors].find(([name]) => name.endsWith('embeddings.word_embeddings.weight'))?.[1];
  const rows = emb?.shape[0];
  const s = identity.specialIds;
  const problems = [
    ...(s.bos !== 0 || s.pad !== 1 || s.eos !== 2 || s.unk !== 3 ? [`special ids <s>=${s.bos} <pad>=${s.pad} </s>=${s.eos} <unk>=${s.unk} are not RoBERTa's 0, 1, 2, 3`] : []),
    ...(rows !== undefined && identity.vocabSize !== rows ? [`it has ${identity.vocabSize} ids but ${file} has ${rows} word-embedding rows`] : []),
    ...(s.mask !== identity.vocabSize - 1 ? [`<mask> is ${s.mask}, not the last id (${identity.vocabSize - 1})`] : []),
  ];
  if (problems.length > 0) {
    throw new UsageError(`--tokenizer ${identity.location} does not look like the tokenizer of ${file}: ${problems.join('; ')}; ${FIX}`, 'fiber.model.tokenizer', { problems });
  }
}

/** `--hf-roberta` without a tokenizer of its own: exit 2, saying which flag fixes it. */
export function missingRobertaTokenizer(file: string): UsageError {
  return new UsageError(`--hf-roberta ${file} needs the RoBERTa tokenizer its embeddings were trained with, not fiber's default one (same special ids, different ids for every other token): ${FIX}`, 'fiber.model.tokenizer');
}
