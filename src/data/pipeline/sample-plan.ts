import { ConfigError } from '../../errors/index.js';
import { hashInts, mix32 } from './rng.js';

/**
 * The sample plan: which samples slot t of step v reads. A pure function of the dataset sizes,
 * weights, seed, global batch B and tasks per step T, with no state, so
 *  - every machine computes the same answer, whatever the number of workers (workers only pick
 *    which (v, t) they run; T is part of the run config, not the fleet size);
 *  - resuming at step v needs only v: nothing is replayed, nothing skipped;
 *  - every sample is read exactly once per epoch (weight 1).
 *
 * The samples of all datasets form one "epoch sequence" of E items. Global position p = v*B + i
 * (i-th sample of step v's batch) falls in epoch e = floor(p / E) at rank j = p mod E, and reads
 * item perm_e(j), where perm_e is a keyed pseudo-random permutation of [0, E) (a Feistel network
 * with cycle walking, keyed by (seed, e)). So batches are a fixed size and may straddle an epoch
 * boundary; each epoch is a fresh, complete shuffle. perm_e costs O(1) memory and time per
 * lookup, so plans for billions of samples need no table.
 *
 * Weights: dataset d contributes round(w_d * n_d) items per epoch. w = 1 reads each sample once;
 * w = 2 twice; w = 0.5 a different half each epoch (its own permutation, keyed by (seed, e, d)).
 */
export interface SamplePlanConfig {
  /** Run seed. */
  readonly seed: number;
  /** Samples per optimizer step, over all slots (the "fixed global batch"). */
  readonly globalBatch: number;
  /** Gradient tasks per step (slots 0..T-1). Fixed for a run; independent of the number of workers. */
  readonly tasksPerStep: number;
  /**
   * Consecutive items of the epoch sequence that stay together (c): the epoch shuffles chunks of
   * c neighbouring samples (and the order inside each chunk) instead of single samples, so a task
   * of n samples touches about n / c places in the shards and reads them in that many ranged GETs.
   * 1 (the default) is the plain per-sample shuffle. @defaultValue 1
   */
  readonly sampleChunk?: number;
}

/** One planned read. */
export interface PlannedSample {
  /** Which dataset of the stage. */
  readonly dataset: number;
  /** Sample number within that dataset (0..n_d-1): see locateSample. */
  readonly sample: number;
  readonly epoch: number;
  /** Position in the global batch (0..B-1): the sample's place in the step, whichever slot reads it. */
  readonly position: number;
}

/** Items per epoch contributed by each dataset. */
export function epochCounts(sizes: readonly number[], weights?: readonly number[]): number[] {
  return sizes.map((n, d) => {
    const w = weights?.[d] ?? 1;
    if (!(w >= 0) || !Number.isFinite(w)) throw new ConfigError(`data.weights[${d}]`, `must be a finite number >= 0, got ${w}`);
    return Math.round(w * n);
  });
}

/** The slice [start, end) of the global batch that slot t owns: as even as possible, in slot order. */
export function slotRange(config: SamplePlanConfig, slot: number): { start: number; end: number } {
  const { globalBatch: B, tasksPerStep: T } = config;
  if (!Number.isInteger(slot) || slot < 0 || slot >= T) throw new RangeError(`slot ${slot} is outside 0..${T - 1}`);
  return { start: Math.floor((slot * B) / T), end: Math.floor(((slot + 1) * B) / T) };
}

/** Samples that slot `slot` reads at step `step`, in batch order. */
export function planTask(sizes: readonly number[], weights: readonly number[] | undefined, config: SamplePlanConfig, step: number, slot: number): PlannedSample[] {
  validate(config);
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`step must be an integer >= 0, got ${step}`);
  const counts = epochCounts(sizes, weights);
  const E = counts.reduce((a, b) => a + b, 0);
  if (E === 0) throw new ConfigError('data.shards', 'the stage has no samples (empty shards, or all weights 0)');
  const { start, end } = slotRange(config, slot);
  const out: PlannedSample[] = [];
  for (let position = start; position < end; position++) {
    const p = step * config.globalBatch + position;
    const epoch = Math.floor(p / E);
    const item = epochItem(p - epoch * E, E, config.sampleChunk ?? 1, config.seed, epoch);
    out.push({ ...itemToSample(item, counts, sizes, config.seed, epoch), epoch, position });
  }
  return out;
}

/** The epoch in which step `step` starts. */
export function epochOfStep(totalEpochItems: number, config: SamplePlanConfig, step: number): number {
  return Math.floor((step * config.globalBatch) / totalEpochItems);
}

/**
 * The item at rank j of epoch `epoch`. With c = 1, perm_e(j). With c > 1 the first
 * (K-1)c ranks, K = ceil(E/c), are K-1 full chunks in permuted order, each chunk's c items
 * permuted among themselves; the last E - (K-1)c ranks are the short tail chunk, shuffled inside
 * (it always ends the epoch, so chunk boundaries need no prefix sums). A bijection on [0, E).
 */
function epochItem(j: number, E: number, c: number, seed: number, epoch: number): number {
  if (c <= 1) return permute(j, E, hashInts(seed, epoch));
  const full = Math.ceil(E / c) - 1;
  const q = Math.floor(j / c);
  if (q >= full) return full * c + permute(j - full * c, E - full * c, hashInts(seed, epoch, 0xc4, full));
  const chunk = permute(q, full, hashInts(seed, epoch));
  return chunk * c + permute(j - q * c, c, hashInts(seed, epoch, 0xc4, chunk));
}

function itemToSample(item: number, counts: readonly number[], sizes: readonly number[], seed: number, epoch: number): { dataset: number; sample: number } {
  let d = 0;
  let r = item;
  while (r >= (counts[d] ?? 0)) r -= counts[d++] ?? 0;
  const n = sizes[d] ?? 0;
  const c = counts[d] ?? 0;
  if (c === n) return { dataset: d, sample: r };
  // Up- or down-sampled: full passes first, then a per-epoch random subset for the remainder.
  const full = Math.floor(r / n);
  const local = r - full * n;
  return { dataset: d, sample: full < Math.floor(c / n) ? local : permute(local, n, hashInts(seed, epoch, d, 0x5eed)) };
}

/**
 * The run config validated batch.<stage>.globalBatch and tasksPerStep already (and planStage is
 * the only place that builds a plan from it), so a bad value here is a programming error.
 */
function validate(c: SamplePlanConfig): void {
  if (!Number.isSafeInteger(c.globalBatch) || c.globalBatch < 1) throw new RangeError(`globalBatch must be an integer >= 1, got ${c.globalBatch}`);
  if (!Number.isSafeInteger(c.tasksPerStep) || c.tasksPerStep < 1 || c.tasksPerStep > c.globalBatch) {
    throw new RangeError(`tasksPerStep must be an integer in 1..globalBatch (${c.globalBatch}), got ${c.tasksPerStep}`);
  }
  if (c.sampleChunk !== undefined && (!Number.isSafeInteger(c.sampleChunk) || c.sampleChunk < 1)) throw new RangeError(`sampleChunk must be an integer >= 1, got ${c.sampleChunk}`);
}

/**
 * A keyed bijection on [0, n): a 4-round balanced Feistel network on the smallest even number of
 * bits covering n, with cycle walking (re-apply until the value lands below n). The domain is
 * < 4n, so walking takes under 4 rounds on average. Exported for its property tests.
 */
export function permute(i: number, n: number, key: number): number {
  if (n <= 1) return 0;
  let bits = Math.max(2, Math.ceil(Math.log2(n)));
  if (bits % 2) bits++;
  const half = bits / 2;
  const mask = half >= 32 ? 0xffffffff : (1 << half) - 1;
  let x = i;
  do {
    let left = Math.floor(x / 2 ** half) & mask;
    let right = x % 2 ** half;
    for (let round = 0; round < 4; round++) {
      const f = mix32(right ^ mix32(key + round * 0x9e3779b9)) & mask;
      const next = (left ^ f) & mask;
      left = right;
      right = next >>> 0;
    }
    x = (left >>> 0) * 2 ** half + right;
  } while (x >= n);
  return x;
}
