import { StorageError } from '../../errors/index.js';
import type { Logger } from '../../log/logger.js';
import { BadSampleCounter, type BadSampleReason } from '../bad-sample.js';
import type { DataBatch } from './batch.js';
import { collateCoarse, collateFine } from './collate.js';
import type { DataStageConfig } from './data-stage-config.js';
import { datasetSize, loadDatasetIndex, locateSample, type DatasetIndex } from '../webdataset/dataset-index.js';
import { createObjectStore, type ObjectStore } from '../../storage/object-store.js';
import { prepareSample, type PreparedSample } from './prepare-sample.js';
import { coalesceReads, type CoalescedRead, type SampleRead } from '../webdataset/range-plan.js';
import { readSamples, sampleCrc32, type RawSample } from '../webdataset/raw-sample.js';
import { createRng, hashInts } from './rng.js';
import { parseAnnotations } from './sample-annotations.js';
import { planTask, type PlannedSample, type SamplePlanConfig } from './sample-plan.js';
import { loadTokenizer, type TextTokenizer } from './text-tokenizer.js';
import { mapLimit } from '../../storage/map-limit.js';

/** Fetched bytes of one task, before decoding. */
interface FetchedTask {
  readonly planned: readonly PlannedSample[];
  readonly reads: readonly SampleRead[];
  readonly raw: ReadonlyArray<RawSample | undefined>;
  readonly bad: BadSampleCounter;
}

/**
 * The worker's entry point to data: `loadTask(step, slot)` returns the batch that slot `slot`
 * of step `step` trains on. Deterministic: the samples come from the pure sample plan and every
 * random choice is seeded by (seed, step, position in the global batch), so a task retried on
 * another machine gets the same batch bit for bit. Bad content is skipped and counted; storage
 * failures that survive the retries throw (the task fails and is retried, rather than training on
 * a batch that depends on luck).
 */
export class TaskDataLoader {
  /** Bad input seen by this loader, over all tasks. */
  readonly bad: BadSampleCounter;
  private readonly prefetched = new Map<string, Promise<FetchedTask>>();

  private constructor(
    readonly config: DataStageConfig,
    readonly plan: SamplePlanConfig,
    readonly datasets: readonly DatasetIndex[],
    readonly tokenizer: TextTokenizer,
    private readonly store: ObjectStore,
    private readonly ownsStore: boolean,
    private readonly log: Logger | undefined,
  ) {
    this.bad = new BadSampleCounter(log);
  }

  /** Load every shard index and the tokenizer. */
  static async open(config: DataStageConfig, plan: SamplePlanConfig, deps: { store?: ObjectStore; log?: Logger } = {}): Promise<TaskDataLoader> {
    const store = deps.store ?? createObjectStore();
    const datasets = await Promise.all(config.datasets.map((d, i) => loadDatasetIndex(store, d.name ?? `dataset${i}`, d.shards)));
    const tokenizer = await loadTokenizer(config.tokenizer, store);
    deps.log?.info({ datasets: datasets.map((d) => ({ name: d.name, shards: d.shards.length, samples: datasetSize(d) })) }, 'data indexes loaded');
    return new TaskDataLoader(config, plan, datasets, tokenizer, store, deps.store === undefined, deps.log);
  }

  /** Samples in each dataset. */
  get sizes(): number[] {
    return this.datasets.map(datasetSize);
  }

  /** The planned samples of (step, slot), without reading them. */
  planned(step: number, slot: number): PlannedSample[] {
    return planTask(this.sizes, this.config.datasets.map((d) => d.weight ?? 1), this.plan, step, slot);
  }

  /** Start fetching the bytes of a task the worker expects to run next (kept until loadTask takes it; at most 2). */
  prefetch(step: number, slot: number): void {
    const id = `${step}/${slot}`;
    if (this.prefetched.has(id)) return;
    if (this.prefetched.size >= 2) this.prefetched.delete(this.prefetched.keys().next().value as string);
    const p = this.fetch(step, slot);
    p.catch(() => undefined); // loadTask retries a failed prefetch itself
    this.prefetched.set(id, p);
  }

  /** The batch of (step, slot). An all-bad task gives an empty batch (numSamples 0). */
  async loadTask(step: number, slot: number): Promise<DataBatch> {
    for await (const batch of this.microBatches(step, slot, Number.MAX_SAFE_INTEGER)) return batch;
    throw new Error('unreachable: every slot owns at least one sample');
  }

  /**
   * The batch of (step, slot) in micro-batches of at most `microBatchSize` samples, for gradient
   * accumulation: the task's bytes (compressed) are fetched once, images are decoded one
   * micro-batch at a time, so memory holds one micro-batch of pixels. The samples, and every
   * random choice, are the same as loadTask's, in the same order.
   */
  async *microBatches(step: number, slot: number, microBatchSize: number): AsyncGenerator<DataBatch> {
    if (!(microBatchSize >= 1)) throw new RangeError(`microBatchSize must be >= 1, got ${microBatchSize}`);
    const id = `${step}/${slot}`;
    const pending = this.prefetched.get(id);
    this.prefetched.delete(id);
    // A failed prefetch (say S3 was throttling a minute ago) gets one fresh try, not its old error.
    const fetched = await (pending ? pending.catch(() => this.fetch(step, slot)) : this.fetch(step, slot));
    const n = fetched.planned.length;
    for (let start = 0; start < n; start += microBatchSize) {
      const end = Math.min(n, start + microBatchSize);
      // Read-level reports (damaged tar, stale index) belong to the micro-batch holding that key.
      const chunkBad = new BadSampleCounter();
      const keys = new Set(fetched.reads.slice(start, end).map((r) => `${r.shardUrl}\n${r.key}`));
      for (const r of fetched.bad.reports) {
        if (keys.has(`${r.shard}\n${r.key}`)) chunkBad.add(r);
      }
      const prepared = await this.prepare(step, fetched, start, end, chunkBad);
      for (const r of chunkBad.reports) this.bad.add(r);
      const skipped = chunkBad.nonZero() as Partial<Record<BadSampleReason, number>>;
      yield this.config.stage === 'coarse'
        ? collateCoarse(prepared, this.config, this.tokenizer, this.plan.seed, step, skipped)
        : collateFine(prepared, this.config, this.tokenizer, skipped);
    }
  }

  async close(): Promise<void> {
    this.prefetched.clear();
    if (this.ownsStore) await this.store.close();
  }

  private async fetch(step: number, slot: number): Promise<FetchedTask> {
    const planned = this.planned(step, slot);
    const reads: SampleRead[] = planned.map((p) => locateSample(this.datasets[p.dataset] as DatasetIndex, p.sample));
    const groups = coalesceReads(reads, this.config.read.coalesceGapBytes, this.config.read.maxRangeBytes);
    // Bad-sample reports are per task (quiet here; the loader's own counter logs them once).
    const bad = new BadSampleCounter();
    const found = new Map<string, RawSample>();
    const readGroup = async (g: CoalescedRead): Promise<void> => {
      let bytes: Buffer;
      try {
        bytes = await this.store.read(g.shardUrl, g.range);
      } catch (err) {
        // A shard shorter than its index is permanent and the same on every machine: its
        // samples are reported missing (deterministically) instead of failing the task forever.
        if (err instanceof StorageError && err.code === 'fiber.data.stale_index') {
          this.log?.error({ shard: g.shardUrl, err: err.message }, 'stale shard index');
          return;
        }
        throw err;
      }
      const wanted = new Map(g.samples.map((s) => [s.offset, s]));
      const groupBad = new BadSampleCounter();
      for await (const s of readSamples([bytes], g.shardUrl, groupBad, g.range.offset)) {
        if (wanted.has(s.offset)) found.set(`${g.shardUrl}@${s.offset}`, s);
      }
      if (g.samples.length === 1) {
        // The range is exactly one sample: damage with no readable key is that sample's.
        const own = (g.samples[0] as SampleRead).key;
        for (const r of groupBad.reports) bad.add(r.key.startsWith('@') ? { ...r, key: own } : r);
        return;
      }
      // Damage in a coalesced range may sit in a gap (another task's sample) and stop the parser
      // before our samples, or make a complete sample of ours look cut short. The index knows
      // each sample's exact range: re-read every missing one on its own, and take the reports
      // of those single-sample reads only.
      const missing = g.samples.filter((s) => !found.has(`${g.shardUrl}@${s.offset}`));
      await mapLimit(missing, this.config.read.concurrency, (s) => readGroup({ shardUrl: g.shardUrl, range: { offset: s.offset, length: s.size }, samples: [s] }));
    };
    await mapLimit(groups, this.config.read.concurrency, readGroup);
    const corrupt = new Set<string>();
    const raw = reads.map((r) => {
      const s = found.get(`${r.shardUrl}@${r.offset}`);
      if (!s || s.key !== r.key) {
        // A damaged range is already counted; a key that simply is not there means a stale index.
        if (!bad.reports.some((b) => b.shard === r.shardUrl && b.key === r.key)) bad.add({ reason: 'missing_from_shard', shard: r.shardUrl, key: r.key });
        return undefined;
      }
      if (r.crc32 !== undefined && sampleCrc32(s.files) !== r.crc32) {
        // Flipped bits that the tar and image formats cannot see. Counted once per sample.
        if (!corrupt.has(`${r.shardUrl}@${r.offset}`)) bad.add({ reason: 'checksum_mismatch', shard: r.shardUrl, key: r.key });
        corrupt.add(`${r.shardUrl}@${r.offset}`);
        return undefined;
      }
      return s;
    });
    return { planned, reads, raw, bad };
  }

  private async prepare(step: number, fetched: FetchedTask, start: number, end: number, bad: BadSampleCounter): Promise<PreparedSample[]> {
    const items = fetched.planned.slice(start, end).map((p, i) => ({ p, raw: fetched.raw[start + i] }));
    const out = await mapLimit(items, this.config.read.decodeConcurrency, async ({ p, raw }) => {
      if (!raw) return undefined;
      const a = parseAnnotations(raw, this.config.stage, bad);
      if (!a) return undefined;
      const rng = createRng(hashInts(this.plan.seed, step, p.position));
      return prepareSample(a, p.position, this.config, this.tokenizer, rng, bad);
    });
    return out.filter((s): s is PreparedSample => s !== undefined);
  }
}
