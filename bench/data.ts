/**
 * Data-path throughput: samples/s and samples per CPU-second ("per core") for the whole path
 * (read from an S3-compatible server, decode, resize, tokenize, collate), for
 *   - coarse samples at 384 px and fine samples at 800 x 1333 (shorter side 800, cap 1333),
 *   - indexed ranged GETs (TaskDataLoader, the training path) and whole-shard sequential reads.
 * Shards are packed from coco-dev (640 px COCO photos) into a local s3rver. CPU time is this
 * process's (user + system, libuv's decode threads included); s3rver's own CPU is not counted.
 *
 *   npm run build && node dist/bench/data.js [--steps 4] [--batch 16] [--json]
 */
import { join } from 'node:path';
import { BadSampleCounter } from '../src/data/bad-sample.js';
import { collateCoarse, collateFine } from '../src/data/pipeline/collate.js';
import { dataStageConfig, type DataStageConfig } from '../src/data/pipeline/data-stage-config.js';
import { createObjectStore } from '../src/storage/object-store.js';
import { packDataset } from '../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../src/data/packing/pack-sources.js';
import { prepareSample, type PreparedSample } from '../src/data/pipeline/prepare-sample.js';
import { readSamples } from '../src/data/webdataset/raw-sample.js';
import { DEFAULT_RETRY } from '../src/storage/retry.js';
import { createRng, hashInts } from '../src/data/pipeline/rng.js';
import { parseAnnotations } from '../src/data/pipeline/sample-annotations.js';
import { s3ConfigFromEnv } from '../src/storage/s3-config.js';
import { expandShardUrls } from '../src/data/webdataset/shard-urls.js';
import { TaskDataLoader } from '../src/data/pipeline/task-data-loader.js';
import { defaultTokenizer } from '../src/data/pipeline/text-tokenizer.js';
import { cocoDevDir } from '../test/helpers/coco-dev.js';
import { startS3Server } from '../test/helpers/s3-server.js';

interface Row {
  readonly stage: 'coarse' | 'fine';
  readonly read: 'ranged (indexed)' | 'whole shard';
  readonly image: string;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly cpuSeconds: number;
  readonly samplesPerCoreSecond: number;
}

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function measure(stage: 'coarse' | 'fine', read: Row['read'], image: string, fn: () => Promise<number>): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const samples = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { stage, read, image, samples, seconds, samplesPerSecond: samples / seconds, cpuSeconds, samplesPerCoreSecond: samples / cpuSeconds };
}

async function main(): Promise<void> {
  const coco = cocoDevDir();
  if (coco.skip) {
    process.stderr.write(`bench/data: ${coco.skip}; nothing measured\n`);
    return;
  }
  const steps = arg('--steps', 4);
  const batch = arg('--batch', 16);
  const s3 = await startS3Server();
  const store = createObjectStore({ s3: { ...s3ConfigFromEnv(s3.env), credentials: s3.credentials }, retry: DEFAULT_RETRY });
  const rows: Row[] = [];
  try {
    const dir = coco.dir as string;
    const packed = await packDataset(await readCocoDevInput(join(dir, 'images'), join(dir, 'annotations.jsonl')), store, { out: `s3://${s3.bucket}/bench`, samplesPerShard: 32 });
    const configs: Array<[DataStageConfig, string]> = [
      [dataStageConfig('coarse', [{ shards: packed.coarse?.pattern ?? '' }], { imageSize: 384 }), '384x384'],
      [dataStageConfig('fine', [{ shards: packed.fine?.pattern ?? '' }], { fine: { minSizes: [800], maxSize: 1333, flipProbability: 0.5, sizeDivisibility: 32 } }), 'short 800, max 1333'],
    ];
    const tokenizer = defaultTokenizer();
    for (const [config, image] of configs) {
      const plan = { seed: 1, globalBatch: batch, tasksPerStep: 1 };
      const loader = await TaskDataLoader.open(config, plan, { store });
      await loader.loadTask(1000, 0); // warm-up: sharp's first call, connections
      rows.push(await measure(config.stage, 'ranged (indexed)', image, async () => {
        let n = 0;
        for (let v = 0; v < steps; v++) {
          if (v + 1 < steps) loader.prefetch(v + 1, 0);
          n += (await loader.loadTask(v, 0)).numSamples;
        }
        return n;
      }));
      await loader.close();
      const url = expandShardUrls(config.datasets[0]?.shards ?? [])[0] as string;
      rows.push(await measure(config.stage, 'whole shard', image, async () => {
        const bad = new BadSampleCounter();
        let n = 0;
        let pending: PreparedSample[] = [];
        for await (const raw of readSamples(store.stream(url), url, bad)) {
          const a = parseAnnotations(raw, config.stage, bad);
          const s = a && (await prepareSample(a, n, config, tokenizer, createRng(hashInts(1, 0, n)), bad));
          if (s) pending.push(s);
          if (pending.length === batch) {
            n += (config.stage === 'coarse' ? collateCoarse(pending, config, tokenizer, 1, 0, {}) : collateFine(pending, config, tokenizer, {})).numSamples;
            pending = [];
          }
        }
        return n;
      }));
    }
  } finally {
    await store.close();
    await s3.close();
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ node: process.version, batch, steps, rows }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ rows })}\n\n`);
  process.stdout.write('| stage | read | image | samples | s | samples/s | CPU s | samples per core-second |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.stage} | ${r.read} | ${r.image} | ${r.samples} | ${r.seconds.toFixed(2)} | ${r.samplesPerSecond.toFixed(1)} | ${r.cpuSeconds.toFixed(2)} | ${r.samplesPerCoreSecond.toFixed(1)} |\n`);
  }
}

await main();
