import type { ByteRange } from '../../storage/object-store.js';

/** A sample to fetch: where it is in which shard. */
export interface SampleRead {
  readonly shardUrl: string;
  readonly key: string;
  readonly offset: number;
  readonly size: number;
  readonly crc32?: number;
}

/** One GET covering one or more samples of one shard. */
export interface CoalescedRead {
  readonly shardUrl: string;
  readonly range: ByteRange;
  readonly samples: readonly SampleRead[];
}

/**
 * Group sample reads into as few ranged GETs as is worthwhile: per shard, sorted by offset,
 * neighbours merge while the gap between them is at most `maxGapBytes` and the merged range stays
 * under `maxRangeBytes`. A GET costs a round trip (tens of ms on S3), so reading a few hundred
 * KiB of unused bytes is cheaper than a second request. Pure; duplicates (a sample planned twice
 * in one task, possible with weight > 1) are read once.
 */
export function coalesceReads(reads: readonly SampleRead[], maxGapBytes: number, maxRangeBytes: number): CoalescedRead[] {
  const byShard = new Map<string, SampleRead[]>();
  for (const r of reads) {
    const list = byShard.get(r.shardUrl) ?? [];
    list.push(r);
    byShard.set(r.shardUrl, list);
  }
  const out: CoalescedRead[] = [];
  for (const [shardUrl, list] of byShard) {
    const unique = [...new Map(list.map((r) => [r.offset, r])).values()].sort((a, b) => a.offset - b.offset);
    let group: SampleRead[] = [];
    let start = 0;
    let end = 0;
    for (const r of unique) {
      if (group.length > 0 && r.offset - end <= maxGapBytes && r.offset + r.size - start <= maxRangeBytes) {
        group.push(r);
        end = Math.max(end, r.offset + r.size);
        continue;
      }
      if (group.length > 0) out.push({ shardUrl, range: { offset: start, length: end - start }, samples: group });
      group = [r];
      start = r.offset;
      end = r.offset + r.size;
    }
    if (group.length > 0) out.push({ shardUrl, range: { offset: start, length: end - start }, samples: group });
  }
  return out;
}
