import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { createObjectStore } from '../../src/storage/object-store.js';
import type { CheckpointManifest } from '../../src/ps/checkpoint-layout.js';
import { copyTokenizerFiles, tokenizerOf } from '../../src/ps/export-tokenizer.js';
import { repoRoot } from '../helpers/coco-dev.js';

const roberta = resolve(repoRoot(), '..', 'shared', 'data', 'roberta-base');
const manifest = (extra: object) => ({ config: {}, ...extra }) as unknown as CheckpointManifest;

test('tokenizerOf reads the manifest\'s recorded tokenizer; older manifests give data.tokenizer (or "default") and no hash', () => {
  assert.deepEqual(tokenizerOf(manifest({})), { location: 'default', hash: null });
  assert.deepEqual(tokenizerOf(manifest({ config: null })), { location: 'default', hash: null });
  assert.deepEqual(tokenizerOf(manifest({ config: { data: { tokenizer: '/t/rb' } } })), { location: '/t/rb', hash: null });
  const recorded = { location: '/t/rb', sha256: 'ab12', vocabSize: 50265, specialIds: { bos: 0, pad: 1, eos: 2, unk: 3, mask: 50264 } };
  assert.deepEqual(tokenizerOf(manifest({ config: { data: { tokenizer: 'default' } }, tokenizer: recorded })), { location: '/t/rb', hash: 'ab12' });
});

test('copyTokenizerFiles copies vocab.json + merges.txt from a folder, tokenizer.json first, nothing for default or an unreadable place', { skip: existsSync(join(roberta, 'vocab.json')) ? false : `no roberta-base tokenizer at ${roberta}` }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fiber-tok-'));
  const store = createObjectStore();
  try {
    assert.deepEqual(await copyTokenizerFiles(store, roberta, join(dir, 'a')), ['vocab.json', 'merges.txt']);
    assert.ok(readFileSync(join(dir, 'a', 'merges.txt')).equals(readFileSync(join(roberta, 'merges.txt'))));
    writeFileSync(join(dir, 'tokenizer.json'), '{"model":{"type":"BPE"}}');
    assert.deepEqual(await copyTokenizerFiles(store, `file://${dir}`, join(dir, 'b')), ['tokenizer.json']);
    assert.deepEqual(await copyTokenizerFiles(store, 'default', join(dir, 'c')), []);
    assert.deepEqual(await copyTokenizerFiles(store, join(dir, 'nowhere'), join(dir, 'd')), []);
    assert.equal(existsSync(join(dir, 'd')), false);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
