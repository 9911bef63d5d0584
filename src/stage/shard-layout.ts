import { numel, type ServerParamSpec } from '../model/param-spec.js';

/**
 * How parameters are spread over S shards. All parameters are laid end to end in spec order as
 * one flat float32 vector; shard s owns the contiguous range [starts[s], starts[s+1]). Boundaries
 * are balanced by bytes and fall on multiples of CHUNK, so large tensors are split into ranges and
 * the per-chunk gradient-norm partials (grad-norm.ts) are the same numbers whatever S is: that is
 * what keeps clipping, and so the parameters, bit-identical across shard counts.
 */
export const CHUNK = 1 << 16;

export interface TensorSlice {
  readonly name: string;
  /** Index in the spec list. */
  readonly index: number;
  /** Element offset of the slice within its tensor. */
  readonly tensorOffset: number;
  /** Element offset of the slice within the shard's flat range. */
  readonly shardOffset: number;
  readonly length: number;
}

export interface ShardLayout {
  readonly numShards: number;
  readonly totalElements: number;
  /** Flat start of each tensor, in spec order. */
  readonly tensorStarts: readonly number[];
  /** Flat range of each shard: [starts[s], starts[s + 1]). Length numShards + 1. */
  readonly shardStarts: readonly number[];
}

/** Pure: the same specs and S give the same layout on every machine. */
export function planLayout(specs: readonly ServerParamSpec[], numShards: number): ShardLayout {
  if (!Number.isInteger(numShards) || numShards < 1) throw new RangeError(`numShards must be an integer >= 1, got ${numShards}`);
  const tensorStarts: number[] = [];
  let total = 0;
  for (const spec of specs) {
    tensorStarts.push(total);
    total += numel(spec.shape);
  }
  // Each boundary is the ideal byte split rounded to the nearest chunk: shards differ from an even
  // split by at most one chunk (256 KiB).
  const shardStarts = [0];
  for (let s = 1; s < numShards; s++) {
    shardStarts.push(Math.max(shardStarts[s - 1]!, Math.min(total, Math.round((total * s) / numShards / CHUNK) * CHUNK)));
  }
  shardStarts.push(total);
  return { numShards, totalElements: total, tensorStarts, shardStarts };
}

export function shardSize(layout: ShardLayout, shard: number): number {
  return layout.shardStarts[shard + 1]! - layout.shardStarts[shard]!;
}

/** The tensor pieces inside a shard's range, in order. */
export function shardSlices(layout: ShardLayout, specs: readonly ServerParamSpec[], shard: number): TensorSlice[] {
  const lo = layout.shardStarts[shard]!;
  const hi = layout.shardStarts[shard + 1]!;
  const out: TensorSlice[] = [];
  specs.forEach((spec, index) => {
    const start = layout.tensorStarts[index]!;
    const end = start + numel(spec.shape);
    const a = Math.max(lo, start);
    const b = Math.min(hi, end);
    if (b > a) out.push({ name: spec.name, index, tensorOffset: a - start, shardOffset: a - lo, length: b - a });
  });
  return out;
}
