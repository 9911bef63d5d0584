import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isFiberError } from '../../../src/errors/index.js';
import { readTarMembers, TarFormatError } from '../../../src/data/webdataset/tar-reader.js';
import { tarEnd, tarEntry } from '../../../src/data/webdataset/tar-writer.js';
import { encodeShardIndex, parseShardIndex } from '../../../src/data/webdataset/shard-index.js';
import { readSafetensors, writeSafetensors } from '../../../src/model/safetensors.js';
import { readManifest } from '../../../src/ps/checkpoint-io.js';
import { CHECKPOINT_FORMAT } from '../../../src/ps/checkpoint-layout.js';
import { createObjectStore } from '../../../src/storage/object-store.js';
import { mutate, seededRandom, within } from '../../helpers/fuzz.js';

/**
 * Seeded fuzzing of the file readers: damaged tar shards, shard indexes, safetensors files and
 * checkpoint manifests. Each case must parse, or fail with a typed error (a FiberError with its
 * code, or the tar reader's TarFormatError), within a second: never a TypeError, never a hang.
 */
const CASES = 300;
const typed = (err: unknown) => isFiberError(err) || err instanceof TarFormatError;
const show = (err: unknown) => `${(err as Error).name}: ${(err as Error).message}`;

async function fuzz(seed: number, valid: Buffer, read: (b: Buffer) => Promise<unknown>): Promise<{ ok: number; refused: number }> {
  const rnd = seededRandom(seed);
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < CASES; i++) {
    const bytes = mutate(valid, rnd);
    try {
      await within(read(bytes), 1000, `case ${i}`);
      ok++;
    } catch (err) {
      assert.ok(typed(err), `case ${i} (seed ${seed}) threw an untyped ${show(err)}\n${bytes.subarray(0, 200).toString('latin1')}`);
      refused++;
    }
  }
  return { ok, refused };
}

describe('file readers against damaged files (seeded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fiber-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tar shards', async () => {
    const tar = Buffer.concat([tarEntry('a/000001.jpg', Buffer.alloc(700, 1)), tarEntry('a/000001.txt', Buffer.from('a cat')), tarEntry('a/000002.json', Buffer.from('{"caption":"x"}')), tarEnd()]);
    const r = await fuzz(1, tar, async (b) => { for await (const m of readTarMembers([b])) void m; });
    assert.ok(r.refused > 0, 'some cases were refused');
  });

  it('shard indexes', async () => {
    const index = encodeShardIndex({ format: 'fiber-shard-index', version: 1, shard: '000000.tar', shardBytes: 4096, keys: ['a', 'b'], offsets: [0, 1536], sizes: [700, 5], crc32s: [1, 2] });
    const r = await fuzz(2, index, async (b) => parseShardIndex(b.toString('utf8'), 'fuzz.idx.json'));
    assert.ok(r.refused > 0);
    // Valid JSON of the wrong shape, which byte mutations rarely produce.
    const good = JSON.parse(index.toString('utf8')) as Record<string, unknown>;
    for (const text of ['null', '5', '[]', '"x"', JSON.stringify({ ...good, keys: 'ab' }), JSON.stringify({ ...good, offsets: ['0', 1] }), JSON.stringify({ ...good, keys: [1, 2] }), JSON.stringify({ ...good, crc32s: null })]) {
      assert.throws(() => parseShardIndex(text, 'fuzz.idx.json'), (err: unknown) => isFiberError(err) && err.code === 'fiber.data.bad_index', text);
    }
  });

  it('safetensors files', async () => {
    const st = writeSafetensors(new Map([['w', { shape: [4, 3], data: new Float32Array(12).fill(2) }], ['b', { shape: [3], data: new Float32Array(3) }]]), { format: 'pt' });
    const r = await fuzz(3, st, async (b) => readSafetensors(b));
    assert.ok(r.refused > 0);
  });

  it('checkpoint manifests', async () => {
    const manifest = {
      format: CHECKPOINT_FORMAT, run: 'r', stage: 'coarse', step: 4, configHash: 'h', config: {}, numShards: 1, totalElements: 15,
      params: [{ name: 'w', shape: [4, 3] }, { name: 'b', shape: [3] }], files: [{ name: 'shard-0-of-1.safetensors', shard: 0, flatStart: 0, flatEnd: 15, bytes: 300, sha256: 'ab' }],
      model: null, dataCursor: { nextStep: 4 }, seeds: { seed: 0 }, init: null, createdAt: 'x',
      ledger: { format: 'fiber.ledger/v1', epochItems: 10, globalBatch: 4, fromStep: 0, segments: [{ epoch: 0, start: 0, end: 10, fromStep: 0, toStep: 3, ids: 'ab' }] },
    };
    const store = createObjectStore();
    let n = 0;
    const r = await fuzz(4, Buffer.from(JSON.stringify(manifest, null, 1)), async (b) => {
      const stepDir = join(dir, `step-${n++}`);
      rmSync(stepDir, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(stepDir, { recursive: true }));
      writeFileSync(join(stepDir, 'manifest.json'), b);
      return readManifest(store, stepDir);
    });
    assert.ok(r.refused > 0);
    await store.close();
  });
});
