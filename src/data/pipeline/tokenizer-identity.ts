import { createHash } from 'node:crypto';
import { ConfigError } from '../../errors/index.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { loadTokenizer, type TextTokenizer } from './text-tokenizer.js';

/**
 * What a run, a checkpoint manifest or an exported config records about its tokenizer: enough to
 * refuse a different vocabulary later, and to write a Hugging Face config's token ids.
 */
export interface TokenizerIdentity {
  /** Where it was loaded from, as configured (data.tokenizer, or `default`). */
  readonly location: string;
  /** sha256 (hex) of the canonical vocabulary, see {@link tokenizerSha256}. */
  readonly sha256: string;
  /** 1 + the largest id: the word-embedding rows a model needs. */
  readonly vocabSize: number;
  readonly specialIds: { readonly bos: number; readonly pad: number; readonly eos: number; readonly unk: number; readonly mask: number };
}

/** Version tag inside the hashed text, so a change of the canonical form cannot collide with the old one. */
export const TOKENIZER_HASH_FORMAT = 'fiber.tokenizer/v1';

const hashes = new WeakMap<TextTokenizer, string>();

/**
 * sha256 over the vocabulary (token -> id, sorted by id then token), the merges in rank order and
 * the special ids: what decides which id a text gets. File bytes are not hashed, so roberta-base's
 * tokenizer.json and its vocab.json + merges.txt hash the same, and whitespace or key order in a
 * file does not matter. Pre-tokenizer and normalizer settings are not hashed: every tokenizer fiber
 * loads is RoBERTa-style byte-level BPE (TextTokenizer), where the vocabulary is what differs.
 */
export function tokenizerSha256(tokenizer: TextTokenizer): string {
  const cached = hashes.get(tokenizer);
  if (cached) return cached;
  const vocab = Object.entries(tokenizer.vocab).sort(([ta, a], [tb, b]) => a - b || (ta < tb ? -1 : ta > tb ? 1 : 0));
  const hash = createHash('sha256');
  hash.update(`${TOKENIZER_HASH_FORMAT}\n`);
  hash.update(JSON.stringify({ special: specialIds(tokenizer) }));
  hash.update('\nvocab\n');
  for (const [token, id] of vocab) hash.update(`${JSON.stringify([id, token])}\n`);
  hash.update('merges\n');
  for (const m of tokenizer.merges) hash.update(`${JSON.stringify(m)}\n`);
  const hex = hash.digest('hex');
  hashes.set(tokenizer, hex);
  return hex;
}

/** The identity of a loaded tokenizer; `location` is the configured value it was loaded from. */
export function tokenizerIdentity(tokenizer: TextTokenizer, location: string): TokenizerIdentity {
  return { location, sha256: tokenizerSha256(tokenizer), vocabSize: tokenizer.vocabSize, specialIds: specialIds(tokenizer) };
}

/** Load `location` (data.tokenizer) and say what it is. */
export async function loadTokenizerWithIdentity(location: string, store: ObjectStore): Promise<{ tokenizer: TextTokenizer; identity: TokenizerIdentity }> {
  const tokenizer = await loadTokenizer(location, store);
  return { tokenizer, identity: tokenizerIdentity(tokenizer, location) };
}

/**
 * A tokenizer whose ids reach past the model's embedding rows would gather rows that do not
 * exist: a config error, to be found before any batch is built.
 */
export function checkTokenizerFitsModel(identity: TokenizerIdentity, modelVocabSize: number, field = 'data.tokenizer'): void {
  if (identity.vocabSize <= modelVocabSize) return;
  throw new ConfigError(field, `${identity.location} has ids up to ${identity.vocabSize - 1} but model.vocabSize is ${modelVocabSize}; set --set model.vocabSize=${identity.vocabSize}, or use a tokenizer of at most ${modelVocabSize} tokens`, { tokenizerVocabSize: identity.vocabSize, modelVocabSize });
}

/**
 * Refuse a tokenizer other than the one `what` was trained with: its embedding rows mean that
 * vocabulary's ids. `recorded` undefined (a checkpoint from before fiber recorded tokenizers) is
 * unknown and passes; the caller may warn.
 */
export function checkSameTokenizer(recorded: TokenizerIdentity | undefined, current: TokenizerIdentity, what: string, field = 'data.tokenizer'): void {
  if (!recorded || recorded.sha256 === current.sha256) return;
  throw new ConfigError(field, `${current.location} (tokenizer sha256 ${current.sha256.slice(0, 12)}) is not the tokenizer ${what} was trained with (${recorded.location}, sha256 ${recorded.sha256.slice(0, 12)}); a run keeps one vocabulary across stages and resumes: point ${field} at the same tokenizer files`, { recorded: recorded.sha256, current: current.sha256 });
}

function specialIds(t: TextTokenizer): TokenizerIdentity['specialIds'] {
  return { bos: t.bosId, pad: t.padId, eos: t.eosId, unk: t.unkId, mask: t.maskId };
}

/** safetensors metadata key under which `fiber model init` (and exports) record the tokenizer. */
export const TOKENIZER_METADATA_KEY = 'fiber.tokenizer';

/** The identity as safetensors metadata (string -> string). */
export function tokenizerMetadata(identity: TokenizerIdentity): Record<string, string> {
  return { [TOKENIZER_METADATA_KEY]: JSON.stringify(identity) };
}

/** The identity recorded in safetensors metadata, or undefined where none (or an unreadable one) is. */
export function tokenizerFromMetadata(metadata: Readonly<Record<string, string>>): TokenizerIdentity | undefined {
  const raw = metadata[TOKENIZER_METADATA_KEY];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<TokenizerIdentity>;
    return typeof v.sha256 === 'string' && typeof v.location === 'string' && typeof v.vocabSize === 'number' ? (v as TokenizerIdentity) : undefined;
  } catch {
    return undefined;
  }
}
