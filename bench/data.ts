/**
 * Data-path throughput against the Python path users would write instead (issue 18), same run,
 * same shards: samples per CPU-second ("per core") and samples/s for
 *   - coarse samples at 384 px and fine samples at 800 x 1333 (shorter side 800, cap 1333),
 *   - fiber, indexed ranged GETs from a local s3rver (TaskDataLoader, the training path),
 *   - fiber, whole shards read in order from local files,
 *   - Python (bench/baselines/pil_datapath.py): tarfile + PIL decode + bicubic resize + numpy
 *     normalise to CHW float32, one process, on the same local files.
 * Shards are packed from coco-dev (640 px COCO photos). CPU time is each process's own (user +
 * system; for fiber libuv's decode threads included, s3rver's CPU not counted).
 * It also reports ranged GETs per sample: measured here, and computed from the sample plan for
 * fiber-base (coarse 4096 = 64 tasks x 64, fine 64 = 64 tasks x 1) over ~4M images in
 * 1000-sample shards, with the S3 request rate that implies on 64 workers.
 *
 *   npm run build && node dist/bench/data.js [--steps 4] [--batch 16] [--shards 2] [--step-seconds 0.86] [--json]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadSampleCounter } from '../src/data/bad-sample.js';
import { collateCoarse, collateFine } from '../src/data/pipeline/collate.js';
import { dataStageConfig, DEFAULT_READ, type DataStageConfig } from '../src/data/pipeline/data-stage-config.js';
import { createObjectStore, type ObjectStore } from '../src/storage/object-store.js';
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
import { planTask, type SamplePlanConfig } from '../src/data/pipeline/sample-plan.js';
import { datasetIndexFrom, locateSample } from '../src/data/webdataset/dataset-index.js';
import { coalesceReads } from '../src/data/webdataset/range-plan.js';
import type { ShardIndex } from '../src/data/webdataset/shard-index.js';
import { cocoDevDir, repoRoot } from '../test/helpers/coco-dev.js';
import { startS3Server } from '../test/helpers/s3-server.js';

type Stage = 'coarse' | 'fine';
interface Row {
  readonly stage: Stage;
  readonly path: 'fiber, ranged (indexed)' | 'fiber, ranged, sampleChunk 16' | 'fiber, whole shards' | 'python PIL, whole shards';
  readonly image: string;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly cpuSeconds: number;
  readonly samplesPerCoreSecond: number;
  /** Ranged shard GETs per sample (ranged row only). */
  readonly getsPerSample?: number;
}

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function measure(stage: Stage, path: Row['path'], image: string, fn: () => Promise<number>): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const samples = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { stage, path, image, samples, seconds, samplesPerSecond: samples / seconds, cpuSeconds, samplesPerCoreSecond: samples / cpuSeconds };
}

/** A store that counts ranged reads (the GETs the loader issues for samples; index loads are whole reads). */
function countingStore(store: ObjectStore): { store: ObjectStore; ranged: () => number } {
  let n = 0;
  return {
    store: { ...store, read: (url, range) => ((range ? n++ : 0), store.read(url, range)) },
    ranged: () => n,
  };
}

/** Debian's python3 with PIL and numpy: found, installed (root with apt-get), or the reason there is none. */
function findPython(): { python?: string; skip?: string } {
  const works = (py: string): boolean => spawnSync(py, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;
  for (const py of ['/usr/bin/python3', 'python3']) if (works(py)) return { python: py };
  if (process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0) {
    process.stderr.write('bench/data: installing python3-pil python3-numpy with apt-get\n');
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-pil', 'python3-numpy'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status === 0 && works('/usr/bin/python3')) return { python: '/usr/bin/python3' };
  }
  return { skip: 'no python3 with PIL and numpy (install python3-pil python3-numpy)' };
}

/** Fiber's path over whole local shards, in order, batches of `batch` (the Python script's loop). */
async function wholeShards(store: ObjectStore, files: readonly string[], config: DataStageConfig, batch: number): Promise<number> {
  const tokenizer = defaultTokenizer();
  const bad = new BadSampleCounter();
  let n = 0;
  let pending: PreparedSample[] = [];
  for (const url of files) {
    for await (const raw of readSamples(store.stream(url), url, bad)) {
      const a = parseAnnotations(raw, config.stage, bad);
      const s = a && (await prepareSample(a, n + pending.length, config, tokenizer, createRng(hashInts(1, 0, n + pending.length)), bad));
      if (s) pending.push(s);
      if (pending.length === batch) {
        n += (config.stage === 'coarse' ? collateCoarse(pending, config, tokenizer, 1, 0, {}) : collateFine(pending, config, tokenizer, {})).numSamples;
        pending = [];
      }
    }
  }
  return n;
}

/**
 * GETs per sample and per step that the plan implies at fiber-base scale, with the loader's own
 * coalescing (DEFAULT_READ), over a synthetic index: `images` samples of `sampleBytes` in shards
 * of 1000. Pure arithmetic over planTask + locateSample + coalesceReads: no data needed.
 */
function plannedGets(plan: SamplePlanConfig, images: number, sampleBytes: number, steps: number): { getsPerSample: number; getsPerStep: number } {
  const perShard = 1000;
  const shards: ShardIndex[] = [];
  const urls: string[] = [];
  for (let s = 0; s * perShard < images; s++) {
    const n = Math.min(perShard, images - s * perShard);
    urls.push(`s3://bucket/coarse/${String(s).padStart(6, '0')}.tar`);
    shards.push({ format: 'fiber-shard-index', version: 1, shard: `${s}.tar`, shardBytes: n * sampleBytes, keys: Array.from({ length: n }, (_, i) => `k${i}`), offsets: Array.from({ length: n }, (_, i) => i * sampleBytes), sizes: new Array<number>(n).fill(sampleBytes) });
  }
  const d = datasetIndexFrom('plan', urls, shards);
  let gets = 0;
  let samples = 0;
  for (let v = 0; v < steps; v++) {
    for (let t = 0; t < plan.tasksPerStep; t++) {
      const reads = planTask([images], undefined, plan, 1000 + v, t).map((p) => locateSample(d, p.sample));
      gets += coalesceReads(reads, DEFAULT_READ.coalesceGapBytes, DEFAULT_READ.maxRangeBytes).length;
      samples += reads.length;
    }
  }
  return { getsPerSample: gets / samples, getsPerStep: gets / steps };
}

async function main(): Promise<void> {
  const coco = cocoDevDir();
  if (coco.skip) {
    process.stderr.write(`bench/data: ${coco.skip}; nothing measured\n`);
    return;
  }
  const steps = arg('--steps', 4);
  const batch = arg('--batch', 16);
  const nShards = arg('--shards', 2);
  const stepSeconds = arg('--step-seconds', 0.86);
  const load0 = loadavg()[0] as number;
  const s3 = await startS3Server();
  const base = createObjectStore({ s3: { ...s3ConfigFromEnv(s3.env), credentials: s3.credentials }, retry: DEFAULT_RETRY });
  const counted = countingStore(base);
  const local = await mkdtemp(join(tmpdir(), 'fiber-bench-data-'));
  const py = findPython();
  const rows: Row[] = [];
  const skipped: string[] = [];
  let sampleBytes = 0;
  try {
    const dir = coco.dir as string;
    const packed = await packDataset(await readCocoDevInput(join(dir, 'images'), join(dir, 'annotations.jsonl')), base, { out: `s3://${s3.bucket}/bench`, samplesPerShard: 32 });
    const configs: Array<[DataStageConfig, string]> = [
      [dataStageConfig('coarse', [{ shards: packed.coarse?.pattern ?? '' }], { imageSize: 384 }), '384x384'],
      [dataStageConfig('fine', [{ shards: packed.fine?.pattern ?? '' }], { fine: { minSizes: [800], maxSize: 1333, flipProbability: 0.5, sizeDivisibility: 32 } }), 'short 800, max 1333'],
    ];
    if (packed.coarse) sampleBytes = packed.coarse.bytes / packed.coarse.samples;
    for (const [config, image] of configs) {
      // The chunked plan only matters where a task has many samples: fiber-base fine has 1.
      for (const sampleChunk of config.stage === 'coarse' ? [undefined, 16] : [undefined]) {
        const plan = { seed: 1, globalBatch: batch, tasksPerStep: 1, ...(sampleChunk ? { sampleChunk } : {}) };
        const loader = await TaskDataLoader.open(config, plan, { store: counted.store });
        await loader.loadTask(1000, 0); // warm-up: sharp's first call, connections
        const gets0 = counted.ranged();
        const ranged = await measure(config.stage, sampleChunk ? 'fiber, ranged, sampleChunk 16' : 'fiber, ranged (indexed)', image, async () => {
          let n = 0;
          for (let v = 0; v < steps; v++) {
            if (v + 1 < steps) loader.prefetch(v + 1, 0);
            n += (await loader.loadTask(v, 0)).numSamples;
          }
          return n;
        });
        rows.push({ ...ranged, getsPerSample: (counted.ranged() - gets0) / ranged.samples });
        await loader.close();
      }
      // The same shard files for both sides of the comparison, read locally.
      const urls = expandShardUrls(config.datasets[0]?.shards ?? []).slice(0, nShards);
      const files: string[] = [];
      for (const [i, url] of urls.entries()) {
        const f = join(local, `${config.stage}-${i}.tar`);
        await writeFile(f, await base.read(url));
        files.push(f);
      }
      await wholeShards(base, files.slice(0, 1), config, 4); // warm-up
      rows.push(await measure(config.stage, 'fiber, whole shards', image, () => wholeShards(base, files, config, batch)));
      if (py.python) {
        const script = join(repoRoot(), 'bench', 'baselines', 'pil_datapath.py');
        const out = execFileSync(py.python, [script, '--stage', config.stage, '--batch', String(batch), '--size', String(config.imageSize), ...files], { encoding: 'utf8', maxBuffer: 1 << 20 });
        const r = JSON.parse(out) as { samples: number; seconds: number; cpuSeconds: number; samplesPerSecond: number; samplesPerCoreSecond: number; pil: string; numpy: string; python: string };
        rows.push({ stage: config.stage, path: 'python PIL, whole shards', image, samples: r.samples, seconds: r.seconds, samplesPerSecond: r.samplesPerSecond, cpuSeconds: r.cpuSeconds, samplesPerCoreSecond: r.samplesPerCoreSecond });
        if (!skipped.length && config.stage === 'coarse') process.stderr.write(`bench/data: Python ${r.python}, Pillow ${r.pil}, numpy ${r.numpy}\n`);
      } else if (!skipped.includes(py.skip as string)) skipped.push(py.skip as string);
    }
  } finally {
    await base.close();
    await s3.close();
    await rm(local, { recursive: true, force: true });
  }
  // fiber-base at the reference's scale (reference §2.4: ~4M images; 100k steps in ~8 days on 8
  // A100, so ~0.86 s a step on 64 GPUs): the coarse step is 64 tasks of 64, the fine one 64 of 1.
  const images = 4_000_000;
  const scale = [
    { what: 'fiber-base coarse, plain shuffle', plan: { seed: 0, globalBatch: 4096, tasksPerStep: 64 } },
    { what: 'fiber-base coarse, data.coarse.sampleChunk 16', plan: { seed: 0, globalBatch: 4096, tasksPerStep: 64, sampleChunk: 16 } },
    { what: 'fiber-base fine, plain shuffle', plan: { seed: 0, globalBatch: 64, tasksPerStep: 64 } },
  ].map((s) => {
    const g = plannedGets(s.plan, images, Math.round(sampleBytes || 150_000), 4);
    return { ...s, ...g, requestsPerSecond: g.getsPerStep / stepSeconds };
  });
  const load1 = loadavg()[0] as number;
  const ratio = (stage: Stage, path: Row['path']): number | undefined => {
    const f = rows.find((r) => r.stage === stage && r.path === path);
    const p = rows.find((r) => r.stage === stage && r.path === 'python PIL, whole shards');
    return f && p ? f.samplesPerCoreSecond / p.samplesPerCoreSecond : undefined;
  };
  const ratios = (['coarse', 'fine'] as const).map((stage) => ({ stage, wholeShards: ratio(stage, 'fiber, whole shards'), ranged: ratio(stage, 'fiber, ranged (indexed)'), rangedChunked: ratio(stage, 'fiber, ranged, sampleChunk 16') }));
  const result = { node: process.version, batch, steps, shards: nShards, loadAverage: [load0, load1], rows, ratios, planned: scale, stepSeconds, skipped };
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const f = (v: number | undefined, d = 1): string => (v === undefined ? '-' : v.toFixed(d));
  process.stdout.write(`${JSON.stringify(result)}\n\n`);
  process.stdout.write(`load average (1 min) ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end\n\n`);
  process.stdout.write('| stage | path | image | samples | s | samples/s | CPU s | samples per core-second | GETs per sample |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.stage} | ${r.path} | ${r.image} | ${r.samples} | ${f(r.seconds, 2)} | ${f(r.samplesPerSecond)} | ${f(r.cpuSeconds, 2)} | ${f(r.samplesPerCoreSecond)} | ${f(r.getsPerSample, 3)} |\n`);
  }
  process.stdout.write('\n| stage | fiber ÷ Python per core: whole shards | ranged | ranged, sampleChunk 16 |\n| --- | --- | --- | --- |\n');
  for (const r of ratios) process.stdout.write(`| ${r.stage} | ${f(r.wholeShards, 2)} | ${f(r.ranged, 2)} | ${f(r.rangedChunked, 2)} |\n`);
  process.stdout.write(`\n| plan (4M images, 1000-sample shards, ${Math.round(sampleBytes / 1000)} KB samples) | GETs per sample | GETs per step | S3 GETs/s at ${stepSeconds} s a step |\n| --- | --- | --- | --- |\n`);
  for (const s of scale) process.stdout.write(`| ${s.what} | ${f(s.getsPerSample, 3)} | ${f(s.getsPerStep, 0)} | ${f(s.requestsPerSecond, 0)} |\n`);
  for (const s of skipped) process.stdout.write(`\nPython rows skipped: ${s}\n`);
}

await main();
