import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoarseBatch } from '../../src/data/pipeline/batch.js';
import { dataStageConfig } from '../../src/data/pipeline/data-stage-config.js';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { packDataset } from '../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../src/data/packing/pack-sources.js';
import { TaskDataLoader } from '../../src/data/pipeline/task-data-loader.js';
import { cocoDevDir } from '../helpers/coco-dev.js';

/** A static file server with Range support (what a CDN or bucket website gives), counting requests. */
const coco = cocoDevDir();
let root: string;
let server: Server;
let base: string;
let store: ObjectStore;
const requests: string[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiber-http-'));
  server = createServer(async (req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < 0) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
      return void createReadStream(path, { start, end }).pipe(res);
    }
    res.writeHead(200, { 'content-length': size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  store = createObjectStore();
});
after(async () => {
  await store.close();
  server.close();
  await rm(root, { recursive: true, force: true });
});

test('http(s) shards: a task reads only its own samples with ranged GETs and gets the same batch as from local files', { skip: coco.skip }, async () => {
  const dir = coco.dir as string;
  const input = await readCocoDevInput(join(dir, 'images'), join(dir, 'annotations.jsonl'));
  const packed = await packDataset({ coarse: input.coarse.slice(0, 40), fine: [] }, store, { out: join(root, 'd'), samplesPerShard: 20 });
  const plan = { seed: 4, globalBatch: 4, tasksPerStep: 2 };
  const config = (shards: string) => dataStageConfig('coarse', [{ shards }], { imageSize: 32, read: { concurrency: 4, coalesceGapBytes: 0, maxRangeBytes: 1 << 26, decodeConcurrency: 2 } });
  const overHttp = await TaskDataLoader.open(config(`${base}/d/coarse/{000000..000001}.tar`), plan, { store });
  const local = await TaskDataLoader.open(config(packed.coarse?.pattern as string), plan, { store });
  try {
    requests.length = 0;
    const b = (await overHttp.loadTask(3, 1)) as CoarseBatch;
    const ranged = requests.filter((r) => r.includes('bytes='));
    assert.equal(b.numSamples, 2);
    assert.equal(ranged.length, 2, `one ranged GET per sample: ${requests.join('; ')}`);
    assert.ok(requests.every((r) => r.includes('bytes=')), 'no whole-shard download');
    const l = (await local.loadTask(3, 1)) as CoarseBatch;
    assert.deepEqual(b.keys, l.keys);
    assert.deepEqual(b.pixelValues, l.pixelValues);
    assert.deepEqual(b.mlmInputIds, l.mlmInputIds);
  } finally {
    await overHttp.close();
    await local.close();
  }
});
