import type { ObjectStore } from '../../storage/object-store.js';
import { loadShardIndex, type ShardIndex } from './shard-index.js';
import { expandShardUrls } from './shard-urls.js';
import { mapLimit } from '../../storage/map-limit.js';

/** All shards of one dataset, with the sample count before each shard for O(log S) lookup. */
export interface DatasetIndex {
  readonly name: string;
  readonly shardUrls: readonly string[];
  readonly shards: readonly ShardIndex[];
  /** `starts[s]` = samples in shards before s; `starts[S]` = the dataset's size. */
  readonly starts: readonly number[];
}

/** Where sample `i` of a dataset lives. */
export interface SampleLocation {
  readonly shardUrl: string;
  readonly shard: number;
  readonly key: string;
  readonly offset: number;
  readonly size: number;
  /** From the index, when it has checksums. */
  readonly crc32?: number;
}

export function datasetIndexFrom(name: string, shardUrls: readonly string[], shards: readonly ShardIndex[]): DatasetIndex {
  const starts = [0];
  for (const s of shards) starts.push((starts[starts.length - 1] ?? 0) + s.keys.length);
  return { name, shardUrls, shards, starts };
}

/** Load the per-shard indexes of every URL the patterns expand to (a few at a time). */
export async function loadDatasetIndex(store: ObjectStore, name: string, patterns: readonly string[] | string, concurrency = 16): Promise<DatasetIndex> {
  const urls = expandShardUrls(patterns);
  const shards = await mapLimit(urls, concurrency, (url) => loadShardIndex(store, url));
  return datasetIndexFrom(name, urls, shards);
}

export function datasetSize(d: DatasetIndex): number {
  return d.starts[d.starts.length - 1] ?? 0;
}

export function locateSample(d: DatasetIndex, i: number): SampleLocation {
  // Largest s with starts[s] <= i.
  let lo = 0;
  let hi = d.shards.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((d.starts[mid] ?? 0) <= i) lo = mid;
    else hi = mid - 1;
  }
  const shard = d.shards[lo] as ShardIndex;
  const j = i - (d.starts[lo] ?? 0);
  if (j < 0 || j >= shard.keys.length) throw new RangeError(`sample ${i} is outside dataset ${d.name} (${datasetSize(d)} samples)`);
  const crc32 = shard.crc32s?.[j];
  return { shardUrl: d.shardUrls[lo] as string, shard: lo, key: shard.keys[j] as string, offset: shard.offsets[j] as number, size: shard.sizes[j] as number, ...(crc32 === undefined ? {} : { crc32 }) };
}
