import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FineBatch } from '../../../src/data/pipeline/batch.js';
import { BadSampleCounter } from '../../../src/data/bad-sample.js';
import { verifyShard } from '../../../src/data/packing/verify-shard.js';
import { dataStageConfig } from '../../../src/data/pipeline/data-stage-config.js';
import { createObjectStore, type ObjectStore } from '../../../src/storage/object-store.js';
import { packDataset } from '../../../src/data/packing/pack-dataset.js';
import { readCocoInput, readFolderInput } from '../../../src/data/packing/pack-sources.js';
import { TaskDataLoader } from '../../../src/data/pipeline/task-data-loader.js';
import { cocoDevDir } from '../../helpers/coco-dev.js';

const coco = cocoDevDir();
let tmp: string;
let store: ObjectStore;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fiber-pack-'));
  store = createObjectStore();
});
after(async () => {
  await store.close();
  await rm(tmp, { recursive: true, force: true });
});

test('--from coco: captions into coarse shards, instances into detection shards that load as category prompts', { skip: coco.skip }, async () => {
  const dir = coco.dir as string;
  const lines = (await readFile(join(dir, 'annotations.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as {
    image_id: number; file: string; width: number; height: number; captions: string[]; boxes: Array<{ category: string; bbox_xywh: number[]; iscrowd: number }> | null;
  });
  const some = lines.filter((l) => l.boxes?.length).slice(0, 6);
  const names = [...new Set(lines.flatMap((l) => (l.boxes ?? []).map((b) => b.category)))];
  const images = some.map((l) => ({ id: l.image_id, file_name: l.file.replace('images/', ''), width: l.width, height: l.height }));
  await writeFile(join(tmp, 'captions.json'), JSON.stringify({ images, annotations: some.flatMap((l) => l.captions.map((caption) => ({ image_id: l.image_id, caption }))) }));
  await writeFile(join(tmp, 'instances.json'), JSON.stringify({
    images,
    categories: names.map((name, i) => ({ id: i + 1, name })),
    annotations: some.flatMap((l) => (l.boxes ?? []).map((b) => ({ image_id: l.image_id, bbox: b.bbox_xywh, category_id: names.indexOf(b.category) + 1, iscrowd: b.iscrowd }))),
  }));
  const input = await readCocoInput(join(dir, 'images'), join(tmp, 'captions.json'), join(tmp, 'instances.json'));
  assert.equal(input.coarse.length, 6);
  assert.equal((input.coarse[0]?.json.captions as string[]).length, 5, 'all captions of an image in one sample');
  const out = `file://${tmp}/coco`;
  const packed = await packDataset(input, store, { out, samplesPerShard: 4 });
  assert.equal(packed.coarse?.urls.length, 2);
  assert.equal(packed.fine?.samples, 6);
  const bad = new BadSampleCounter();
  const verified = await Promise.all((packed.fine?.urls ?? []).map((u) => verifyShard(store, u, bad)));
  assert.deepEqual(verified.map((v) => [v.samples, v.good, v.indexProblem]), [[4, 4, undefined], [2, 2, undefined]]);
  assert.equal(bad.total, 0);
  const config = dataStageConfig('fine', [{ shards: packed.fine?.pattern as string }], { fine: { minSizes: [96], maxSize: 160, flipProbability: 0, sizeDivisibility: 32 } });
  const loader = await TaskDataLoader.open(config, { seed: 5, globalBatch: 6, tasksPerStep: 1 }, { store });
  try {
    const b = (await loader.loadTask(0, 0)) as FineBatch;
    assert.equal(b.numSamples, 6);
    const text = loader.tokenizer.decode(Array.from(b.inputIds.subarray(0, b.textLength)));
    assert.match(text, /^([a-z ]+\. )+[a-z ]+\.$/, `category prompt: ${text}`);
    // Fewer than 85 absent categories here, so the prompt names every category once.
    assert.deepEqual(text.replace(/\.$/, '').split('. ').sort(), [...names].sort());
    assert.ok(b.boxMask.some((x) => x === 1));
  } finally {
    await loader.close();
  }
});

test('--from folder: image + .txt pairs, images without a caption are left out', async () => {
  const dir = join(tmp, 'folder');
  await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
  const img = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#00ff00' } }).png().toBuffer();
  await writeFile(join(dir, 'a.png'), img);
  await writeFile(join(dir, 'a.txt'), 'a green field\n');
  await writeFile(join(dir, 'b.png'), img);
  const input = await readFolderInput(dir);
  assert.deepEqual(input.coarse.map((s) => [s.key, s.txt]), [['a', 'a green field']]);
});

test('unreadable inputs are usage errors naming the flag', async () => {
  await assert.rejects(readCocoInput(tmp, join(tmp, 'missing.json')), { code: 'fiber.usage', message: /--captions/ });
  await writeFile(join(tmp, 'broken.json'), '{"images": [');
  await assert.rejects(readCocoInput(tmp, join(tmp, 'broken.json')), { message: /not valid JSON/ });
});
