import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataStageConfig } from '../../../src/data/pipeline/data-stage-config.js';
import { createObjectStore, type ObjectStore } from '../../../src/storage/object-store.js';
import { packDataset, type PackResult } from '../../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../../src/data/packing/pack-sources.js';
import { DEFAULT_RETRY } from '../../../src/storage/retry.js';
import { s3ConfigFromEnv } from '../../../src/storage/s3-config.js';
import { buildShardIndex, encodeShardIndex, indexUrlFor, loadShardIndex } from '../../../src/data/webdataset/shard-index.js';
import { TaskDataLoader } from '../../../src/data/pipeline/task-data-loader.js';
import { isEmptyBatch, type CoarseBatch, type FineBatch } from '../../../src/data/pipeline/batch.js';
import { cocoDevDir } from '../../helpers/coco-dev.js';
import { robertaBaseDir } from '../../helpers/roberta-base.js';
import { resolveRunConfig } from '../../../src/config/index.js';
import { defaultTokenizer, loadTokenizer } from '../../../src/data/pipeline/text-tokenizer.js';
import { stageDataConfig } from '../../../src/stage/data-config.js';
import { startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

const coco = cocoDevDir();
const skip = coco.skip;
let s3: S3TestServer;
let store: ObjectStore;
let packed: PackResult;
let numImages = 0;
const plan = { seed: 17, globalBatch: 8, tasksPerStep: 2 };

before(async () => {
  if (skip) return;
  s3 = await startS3Server();
  store = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: s3.endpoint }), credentials: s3.credentials }, retry: { ...DEFAULT_RETRY, baseDelayMs: 1 } });
  const dir = coco.dir as string;
  const input = await readCocoDevInput(join(dir, 'images'), join(dir, 'annotations.jsonl'));
  numImages = input.coarse.length;
  packed = await packDataset(input, store, { out: `s3://${s3.bucket}/coco-dev`, samplesPerShard: 16 });
});
after(async () => {
  if (skip) return;
  await store.close();
  await s3.close();
});

test('pack coco-dev to S3: coarse and fine shards with indexes equal to a rebuilt index', { skip }, async () => {
  assert.equal(packed.coarse?.samples, numImages);
  assert.equal(packed.coarse?.urls.length, Math.ceil(numImages / 16));
  assert.match(packed.coarse?.pattern ?? '', /coarse\/\{000000\.\.0000\d\d\}\.tar$/);
  assert.ok((packed.fine?.samples ?? 0) > 62, 'one grounding sample per linked caption');
  assert.deepEqual(packed.missingImages, []);
  const url = packed.coarse?.urls[1] as string;
  const written = await loadShardIndex(store, url);
  const rebuilt = await buildShardIndex(store, url);
  assert.deepEqual(encodeShardIndex(rebuilt), encodeShardIndex(written));
  assert.equal(written.shardBytes, await store.size(url));
});

test('coarse tasks over S3: shapes, real pixels and tokens, every image once per epoch, same batch on a second loader', { skip }, async () => {
  const config = dataStageConfig('coarse', [{ name: 'coco-dev', shards: packed.coarse?.pattern as string }], { imageSize: 64 });
  const loader = await TaskDataLoader.open(config, plan, { store });
  try {
    assert.deepEqual(loader.sizes, [numImages]);
    const seen: string[] = [];
    const steps = Math.ceil(numImages / plan.globalBatch);
    let first: CoarseBatch | undefined;
    for (let v = 0; v < steps; v++) {
      for (let t = 0; t < plan.tasksPerStep; t++) {
        if (t + 1 < plan.tasksPerStep) loader.prefetch(v, t + 1);
        const b = (await loader.loadTask(v, t)) as CoarseBatch;
        first ??= b;
        assert.equal(b.kind, 'coarse');
        assert.equal(b.pixelValues.length, b.numSamples * 3 * 64 * 64);
        assert.equal(b.inputIds.length, b.numSamples * 40);
        b.keys.forEach((k, i) => {
          if (b.positions[i] !== undefined && v * 8 + (b.positions[i] as number) < numImages) seen.push(k);
        });
      }
    }
    assert.equal(new Set(seen).size, numImages, 'epoch 0 covers every image');
    assert.equal(seen.length, numImages, 'and none twice');
    const b = first as CoarseBatch;
    assert.equal(b.numSamples, 4);
    assert.equal(b.inputIds[0], 0, 'rows start with <s>');
    const std = Math.sqrt(b.pixelValues.reduce((s, x) => s + x * x, 0) / b.pixelValues.length);
    assert.ok(std > 0.3 && std < 3, `normalised photo pixels have unit-ish spread (${std})`);
    assert.ok(b.mlmLabels.some((x) => x !== -100), 'MLM selected some tokens');
    const again = await TaskDataLoader.open(config, plan, { store });
    const b2 = (await again.loadTask(0, 0)) as CoarseBatch;
    assert.deepEqual(b2.keys, b.keys);
    assert.deepEqual(b2.pixelValues, b.pixelValues);
    assert.deepEqual(b2.mlmInputIds, b.mlmInputIds);
    await again.close();
    assert.equal(loader.bad.total, 0);
  } finally {
    await loader.close();
  }
});

test('fine tasks: boxes inside the image, positive maps on the phrase tokens, flips move boxes', { skip }, async () => {
  const config = dataStageConfig('fine', [{ shards: packed.fine?.pattern as string }], { fine: { minSizes: [128, 160], maxSize: 224, flipProbability: 0.5, sizeDivisibility: 32 } });
  const loader = await TaskDataLoader.open(config, { seed: 3, globalBatch: 4, tasksPerStep: 1 }, { store });
  try {
    let boxesSeen = 0;
    for (let v = 0; v < 3; v++) {
      const b = (await loader.loadTask(v, 0)) as FineBatch;
      assert.equal(b.kind, 'fine');
      assert.equal(b.imageHeight % 32, 0);
      assert.ok(b.imageHeight <= 224 && b.imageWidth <= 224);
      assert.equal(b.pixelValues.length, b.numSamples * 3 * b.imageHeight * b.imageWidth);
      const L = b.textLength;
      assert.equal(L, 256);
      for (let i = 0; i < b.numSamples; i++) {
        const h = b.imageSizes[i * 2] as number;
        const w = b.imageSizes[i * 2 + 1] as number;
        assert.ok(Math.min(h, w) <= 160 && Math.max(h, w) <= 224);
        for (let m = 0; m < b.maxBoxes; m++) {
          if (!b.boxMask[i * b.maxBoxes + m]) continue;
          boxesSeen++;
          const [x0, y0, x1, y1] = b.boxes.subarray((i * b.maxBoxes + m) * 4, (i * b.maxBoxes + m + 1) * 4);
          assert.ok(x0! >= 0 && y0! >= 0 && x1! <= w + 1e-3 && y1! <= h + 1e-3 && x1! > x0! && y1! > y0!, 'box inside its image');
          const row = b.positiveMap.subarray((i * b.maxBoxes + m) * L, (i * b.maxBoxes + m + 1) * L);
          const sum = row.reduce((s, x) => s + x, 0);
          assert.ok(Math.abs(sum - 1) < 1e-5, 'positive map row sums to 1');
          row.forEach((x, j) => x > 0 && assert.equal(b.attentionMask[i * L + j], 1, 'positives are real tokens'));
        }
      }
    }
    assert.ok(boxesSeen > 0);
  } finally {
    await loader.close();
  }
});

test('bad input over S3: corrupt image, bad JSON, empty caption, missing image are skipped and counted; an all-bad task is an empty batch', { skip }, async () => {
  const dir = coco.dir as string;
  const jpg = await readFile(join(dir, 'images', '000000000802.jpg'));
  const { ShardWriter } = await import('../../../src/data/webdataset/shard-writer.js');
  const w = new ShardWriter(store, { out: `s3://${s3.bucket}/bad`, samplesPerShard: 100 });
  const truncated = jpg.subarray(0, Math.floor(jpg.length / 3));
  const flipped = Buffer.from(jpg);
  for (let i = 600; i < flipped.length; i += 97) flipped[i] = (flipped[i] ?? 0) ^ 0x5a;
  await w.add('good', [['jpg', jpg], ['txt', Buffer.from('a kitchen')]]);
  await w.add('truncjpg', [['jpg', truncated], ['txt', Buffer.from('x')]]);
  await w.add('flipjpg', [['jpg', flipped], ['txt', Buffer.from('x')]]);
  await w.add('badjson', [['jpg', jpg], ['json', Buffer.from('{"captions": [')]]);
  await w.add('empty', [['jpg', jpg], ['txt', Buffer.from('   ')]]);
  await w.add('noimage', [['txt', Buffer.from('no picture')]]);
  await w.add('nocaption', [['jpg', jpg]]);
  const written = await w.finish();
  const config = dataStageConfig('coarse', [{ shards: written.urls }], { imageSize: 32 });
  const loader = await TaskDataLoader.open(config, { seed: 0, globalBatch: 7, tasksPerStep: 1 }, { store });
  try {
    const b = await loader.loadTask(0, 0);
    assert.deepEqual(b.keys, ['good']);
    assert.deepEqual(b.skipped, { undecodable_image: 2, malformed_json: 1, empty_caption: 1, missing_image: 1, missing_caption: 1 });
    const reports = loader.bad.reports.map((r) => `${r.key}:${r.reason}`).sort();
    assert.ok(reports.includes('truncjpg:undecodable_image') && reports.includes('flipjpg:undecodable_image') && reports.includes('badjson:malformed_json'));
    assert.equal(loader.bad.reports[0]?.shard, written.urls[0]);
  } finally {
    await loader.close();
  }
  // A shard truncated mid-way (index still describing the full shard): the tail's samples are reported, not fatal.
  const url = written.urls[0] as string;
  const whole = await store.read(url);
  const cutUrl = `s3://${s3.bucket}/cut/000000.tar`;
  await store.write(cutUrl, whole.subarray(0, 2048));
  await store.write(indexUrlFor(cutUrl), await store.read(indexUrlFor(url)));
  const allBad = await TaskDataLoader.open(dataStageConfig('coarse', [{ shards: cutUrl }], { imageSize: 32 }), { seed: 0, globalBatch: 2, tasksPerStep: 1 }, { store });
  try {
    // Samples past the cut cannot be read: reported as missing, deterministically, not fatal.
    const planned = allBad.planned(0, 0);
    const b = await allBad.loadTask(0, 0);
    assert.equal(b.numSamples + (b.skipped.missing_from_shard ?? 0) + (b.skipped.undecodable_image ?? 0) + (b.skipped.missing_image ?? 0) + (b.skipped.missing_caption ?? 0) + (b.skipped.empty_caption ?? 0) + (b.skipped.malformed_json ?? 0), planned.length);
    let missing = 0;
    for (let v = 0; v < 4; v++) missing += (await allBad.loadTask(v, 0)).skipped.missing_from_shard ?? 0;
    assert.ok(missing >= 5, `samples past the cut are reported missing (${missing})`);
  } finally {
    await allBad.close();
  }
  const empty = await TaskDataLoader.open(dataStageConfig('coarse', [{ shards: url }], { imageSize: 32 }), { seed: 0, globalBatch: 7, tasksPerStep: 7 }, { store });
  try {
    // 7 slots of one sample each: the slot holding 'good' gets it, the six others get empty batches.
    const batches = await Promise.all(Array.from({ length: 7 }, (_, t) => empty.loadTask(0, t)));
    assert.deepEqual(batches.map((b) => (isEmptyBatch(b) ? '-' : b.keys[0])).filter((k) => k !== '-'), ['good']);
    for (const b of batches.filter(isEmptyBatch)) {
      assert.equal(b.pixelValues.length, 0);
      assert.equal(b.inputIds.length, 0);
      assert.equal(Object.values(b.skipped).reduce((a, n) => a + (n ?? 0), 0), 1, 'and says why');
    }
  } finally {
    await empty.close();
  }
});

test('the same step gives the same bits with 1 slot or 3 slots (pixels, ids, MLM), across two weighted datasets', { skip }, async () => {
  const urls = packed.coarse?.urls ?? [];
  const datasets = [{ name: 'a', shards: urls.slice(0, 3) }, { name: 'b', shards: urls.slice(3), weight: 2 }];
  const config = dataStageConfig('coarse', datasets, { imageSize: 32 });
  const one = await TaskDataLoader.open(config, { seed: 9, globalBatch: 9, tasksPerStep: 1 }, { store });
  const three = await TaskDataLoader.open(config, { seed: 9, globalBatch: 9, tasksPerStep: 3 }, { store });
  try {
    assert.deepEqual(one.sizes, [48, numImages - 48]);
    for (const step of [0, 5]) {
      const whole = (await one.loadTask(step, 0)) as CoarseBatch;
      const parts = [] as CoarseBatch[];
      for (let t = 0; t < 3; t++) parts.push((await three.loadTask(step, t)) as CoarseBatch);
      assert.deepEqual(parts.flatMap((p) => p.keys), whole.keys);
      assert.deepEqual(Float32Array.from(parts.flatMap((p) => Array.from(p.pixelValues))), whole.pixelValues);
      assert.deepEqual(Int32Array.from(parts.flatMap((p) => Array.from(p.mlmInputIds))), whole.mlmInputIds);
      assert.deepEqual(Int32Array.from(parts.flatMap((p) => Array.from(p.mlmLabels))), whole.mlmLabels);
    }
  } finally {
    await one.close();
    await three.close();
  }
});

test('damage inside a coalesced range but outside the task (another task\'s sample) does not cost the task its samples', { skip }, async () => {
  const dir = coco.dir as string;
  const jpg = await readFile(join(dir, 'images', '000000000802.jpg'));
  const { ShardWriter } = await import('../../../src/data/webdataset/shard-writer.js');
  const w = new ShardWriter(store, { out: `s3://${s3.bucket}/gap`, samplesPerShard: 10 });
  for (const k of ['a', 'b', 'c']) await w.add(k, [['jpg', jpg], ['txt', Buffer.from(`sample ${k}`)]]);
  const url = (await w.finish()).urls[0] as string;
  const index = await loadShardIndex(store, url);
  const bytes = Buffer.from(await store.read(url));
  const headerOfB = index.offsets[1] as number;
  bytes[headerOfB + 20] = (bytes[headerOfB + 20] ?? 0) ^ 0xff; // b's first header checksum now fails
  await store.write(url, bytes);
  const loader = await TaskDataLoader.open(dataStageConfig('coarse', [{ shards: url }], { imageSize: 32 }), { seed: 1, globalBatch: 2, tasksPerStep: 1 }, { store });
  try {
    let step = 0;
    while (loader.planned(step, 0).map((p) => p.sample).sort().join() !== '0,2') step++;
    const b = await loader.loadTask(step, 0);
    assert.deepEqual([...b.keys].sort(), ['a', 'c']);
    assert.deepEqual(b.skipped, {});
    const withB = loader.planned(0, 0).some((p) => p.sample === 1) ? 0 : 1;
    const hit = await loader.loadTask(withB, 0);
    assert.deepEqual(hit.skipped, { corrupt_tar: 1 }, 'the task that owns b reports it, once');
    assert.ok(loader.bad.reports.some((r) => r.key === 'b' && r.reason === 'corrupt_tar'));
  } finally {
    await loader.close();
  }
});

test('sampleChunk: each task of 8 reads its samples in one ranged GET per shard from S3; the plain shuffle needs more', { skip }, async () => {
  // Counted at the store: every ranged read is one GET to s3rver (index loads are whole reads).
  let gets = 0;
  const counting: ObjectStore = { ...store, read: (url, range) => ((range ? gets++ : 0), store.read(url, range)) };
  // Gap 0: only samples that touch coalesce, so the count shows the plan's locality alone.
  const config = dataStageConfig('coarse', [{ shards: packed.coarse?.pattern as string }], { imageSize: 32, read: { concurrency: 8, coalesceGapBytes: 0, maxRangeBytes: 64 << 20, decodeConcurrency: 4 } });
  const perSample = async (sampleChunk?: number): Promise<number> => {
    const loader = await TaskDataLoader.open(config, { seed: 5, globalBatch: 16, tasksPerStep: 2, ...(sampleChunk ? { sampleChunk } : {}) }, { store: counting });
    try {
      gets = 0;
      let samples = 0;
      for (let v = 0; v < 2; v++) {
        for (let t = 0; t < 2; t++) {
          const b = await loader.loadTask(v, t);
          assert.equal(b.numSamples, 8);
          samples += b.numSamples;
        }
      }
      return gets / samples;
    } finally {
      await loader.close();
    }
  };
  // Shards hold 16, chunks of 8 start at multiples of 8: a chunk never straddles two shards.
  assert.equal(await perSample(8), 1 / 8, 'one GET per task');
  assert.ok((await perSample()) > 0.5, 'the plain shuffle reads most samples on their own');
});

test('microBatches splits a task for gradient accumulation without changing a bit', { skip }, async () => {
  const config = dataStageConfig('coarse', [{ shards: packed.coarse?.pattern as string }], { imageSize: 32 });
  const loader = await TaskDataLoader.open(config, { seed: 2, globalBatch: 14, tasksPerStep: 2 }, { store });
  try {
    const whole = (await loader.loadTask(4, 1)) as CoarseBatch;
    const parts: CoarseBatch[] = [];
    for await (const b of loader.microBatches(4, 1, 3)) parts.push(b as CoarseBatch);
    assert.deepEqual(parts.map((p) => p.numSamples), [3, 3, 1]);
    assert.deepEqual(parts.flatMap((p) => p.keys), whole.keys);
    assert.deepEqual(Float32Array.from(parts.flatMap((p) => Array.from(p.pixelValues))), whole.pixelValues);
    assert.deepEqual(Int32Array.from(parts.flatMap((p) => Array.from(p.mlmLabels))), whole.mlmLabels);
  } finally {
    await loader.close();
  }
});

test('bytes flipped after packing are caught by the index CRC even where the JPEG still decodes', { skip }, async () => {
  const dir = coco.dir as string;
  const jpg = await readFile(join(dir, 'images', '000000000802.jpg'));
  const { ShardWriter } = await import('../../../src/data/webdataset/shard-writer.js');
  const { verifyShard } = await import('../../../src/data/packing/verify-shard.js');
  const { BadSampleCounter } = await import('../../../src/data/bad-sample.js');
  const w = new ShardWriter(store, { out: `s3://${s3.bucket}/crc`, samplesPerShard: 10 });
  for (const k of ['x', 'y']) await w.add(k, [['jpg', jpg], ['txt', Buffer.from(`sample ${k}`)]]);
  const url = (await w.finish()).urls[0] as string;
  const index = await loadShardIndex(store, url);
  assert.equal(index.crc32s?.length, 2);
  const bytes = Buffer.from(await store.read(url));
  const inY = (index.offsets[1] as number) + 512 + 5488; // deep inside y's entropy-coded data
  for (let i = inY; i < inY + 2000; i += 50) bytes[i] = (bytes[i] ?? 0) ^ 0xa5;
  await store.write(url, bytes);
  const loader = await TaskDataLoader.open(dataStageConfig('coarse', [{ shards: url }], { imageSize: 32 }), { seed: 1, globalBatch: 2, tasksPerStep: 1 }, { store });
  try {
    const b = await loader.loadTask(0, 0);
    assert.deepEqual(b.keys, ['x']);
    assert.deepEqual(b.skipped, { checksum_mismatch: 1 });
  } finally {
    await loader.close();
  }
  const bad = new BadSampleCounter();
  const v = await verifyShard(store, url, bad);
  assert.equal(v.good, 1);
  assert.deepEqual(bad.reports.map((r) => `${r.key}:${r.reason}`), ['y:checksum_mismatch']);
});

const roberta = robertaBaseDir();

test('a worker\'s loader (stageDataConfig of a run config) tokenizes with data.tokenizer: every row is a caption in roberta-base ids', { skip: skip ?? roberta.skip }, async () => {
  const run = resolveRunConfig({ preset: 'fiber-tiny', sets: [`data.coarse.shards=${packed.coarse!.pattern}`, `data.tokenizer=${roberta.dir}`] });
  const config = stageDataConfig(run, 'coarse', 'train');
  assert.equal(config.tokenizer, roberta.dir);
  assert.equal(stageDataConfig(run, 'fine', 'eval').tokenizer, roberta.dir, 'eval reads text the way training did');
  const captions = (await readFile(join(coco.dir!, 'annotations.jsonl'), 'utf8')).trim().split('\n').flatMap((l) => (JSON.parse(l) as { captions: string[] }).captions);
  const rb = await loadTokenizer(roberta.dir!, store);
  const L = config.maxTextLen;
  const robertaRows = new Set(captions.map((c) => rb.encode(c, L).ids.join(',')));
  const defaultRows = new Set(captions.map((c) => defaultTokenizer().encode(c, L).ids.join(',')));
  const loader = await TaskDataLoader.open(config, { seed: 5, globalBatch: 8, tasksPerStep: 2 }, { store });
  try {
    const b = (await loader.loadTask(0, 0)) as CoarseBatch;
    assert.equal(b.numSamples, 4);
    for (let i = 0; i < b.numSamples; i++) {
      const row = Array.from(b.inputIds.subarray(i * L, (i + 1) * L));
      const n = Array.from(b.attentionMask.subarray(i * L, (i + 1) * L)).filter((m) => m === 1).length;
      assert.ok(row.slice(n).every((id) => id === rb.padId), 'padded with roberta-base\'s <pad>');
      const ids = row.slice(0, n).join(',');
      assert.ok(robertaRows.has(ids), `row ${i} is a caption in roberta-base ids: ${ids}`);
      assert.ok(!defaultRows.has(ids), `row ${i} is not the default tokenizer's ids`);
    }
  } finally {
    await loader.close();
  }
});
