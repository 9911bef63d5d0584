/**
 * Exponential moving average: `s[0] = x[0]`, `s[i] = alpha * x[i] + (1 - alpha) * s[i-1]`, so
 * `alpha` is the weight of the newest value (the coordinator's smoothing is alpha = 0.1).
 * A non-finite value (a NaN loss, a step without a measurement) yields NaN at its index and
 * leaves the average untouched, so a chart shows a gap instead of a poisoned tail.
 */
export function ema(values: readonly number[], alpha: number): number[] {
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`ema: alpha must be in (0, 1], got ${alpha}`);
  let s: number | null = null;
  return values.map((x) => {
    if (!Number.isFinite(x)) return Number.NaN;
    s = s === null ? x : alpha * x + (1 - alpha) * s;
    return s;
  });
}
