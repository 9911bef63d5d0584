import { join } from 'node:path';
import type { ObjectStore } from '../storage/object-store.js';
import { UsageError } from '../errors/index.js';
import type { DemoOptions } from './demo-options.js';

/** The demo's shards: what it trains on, and what it evaluates on. */
export interface DemoData {
  readonly generated: boolean;
  /** Folder URLs, for the summary. */
  readonly train: string;
  readonly eval: string;
  readonly coarseShards: readonly string[];
  readonly fineShards: readonly string[];
  readonly evalCoarseShards: readonly string[];
  readonly evalFineShards: readonly string[];
}

/** A different stream of scenes for evaluation: the held-out set never overlaps training. */
const EVAL_SEED_OFFSET = 1_000_003;

/**
 * Generate the shapes dataset (training and held-out scenes) under `<out>/data`, or find the
 * shards of a packed dataset (`<data>/coarse/*.tar` and `<data>/fine/*.tar`, as `fiber data pack`
 * and `fiber data synth` write them); a packed dataset is also what the demo evaluates on.
 */
export async function prepareDemoData(store: ObjectStore, o: DemoOptions, out: string): Promise<DemoData> {
  if (o.data) {
    const base = o.data.replace(/\/+$/, '');
    const coarse = await tars(store, `${base}/coarse`);
    const fine = await tars(store, `${base}/fine`);
    if (coarse.length === 0 || fine.length === 0) {
      throw new UsageError(`--data ${o.data}: expected shards under coarse/ and fine/ (found ${coarse.length} and ${fine.length}); write them with fiber data pack or fiber data synth`, 'fiber.usage.demo_data');
    }
    return { generated: false, train: base, eval: base, coarseShards: coarse, fineShards: fine, evalCoarseShards: coarse, evalFineShards: fine };
  }
  const { packShapesDataset } = await import('../data/packing/pack-shapes.js');
  const train = join(out, 'data', 'train');
  const held = join(out, 'data', 'eval');
  const t = await packShapesDataset(store, { out: train, count: o.trainImages, seed: o.seed, samplesPerShard: 128 });
  const e = await packShapesDataset(store, { out: held, count: o.evalImages, seed: o.seed + EVAL_SEED_OFFSET, samplesPerShard: 1024 });
  return {
    generated: true, train, eval: held,
    coarseShards: t.coarse!.urls, fineShards: t.fine!.urls, evalCoarseShards: e.coarse!.urls, evalFineShards: e.fine!.urls,
  };
}

async function tars(store: ObjectStore, dir: string): Promise<string[]> {
  return (await store.list(dir)).filter((n) => n.endsWith('.tar')).map((n) => `${dir}/${n}`);
}
