import type { ChartPoint } from './line-chart-svg.js';

/**
 * At most about `maxPoints` of `points` (in x order), keeping each bucket's lowest and highest y so
 * loss spikes survive. A 100k-step run would otherwise put 100k path vertices per line into the
 * page; a chart a few hundred pixels wide cannot show more than ~1,500 anyway.
 */
export function downsample(points: readonly ChartPoint[], maxPoints: number): ChartPoint[] {
  if (points.length <= maxPoints) return [...points];
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const size = points.length / buckets;
  const out: ChartPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const slice = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (slice.length === 0) continue;
    let lo = slice[0]!;
    let hi = slice[0]!;
    for (const p of slice) {
      if (p[1] < lo[1]) lo = p;
      if (p[1] > hi[1]) hi = p;
    }
    if (lo === hi) out.push(lo);
    else out.push(...(lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  }
  return out;
}
