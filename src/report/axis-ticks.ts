/** Tick positions for a chart axis, and the compact number format used on axes and in tables. */
export interface AxisTicks {
  /** The axis range, widened to whole ticks so the first and last gridlines sit on the frame. */
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
}

/** About `count` ticks at 1, 2 or 5 times a power of ten covering [lo, hi]. */
export function linearTicks(lo: number, hi: number, count = 5): AxisTicks {
  if (lo === hi) {
    // One value (one point, or a flat line): centre it in a small range of its own size.
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return linearTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  // Integer multiples, not repeated addition, so 0.1 + 0.2 never lands as 0.30000000000000004.
  for (let i = Math.round(min / step); i <= Math.round(max / step); i++) ticks.push(roundTo(i * step, step));
  return { min, max, ticks };
}

/** Decades covering [lo, hi] (both > 0), with 2x and 5x ticks too when that is two decades or fewer. */
export function logTicks(lo: number, hi: number): AxisTicks {
  const a = Math.floor(Math.log10(lo));
  const b = Math.max(a + 1, Math.ceil(Math.log10(hi)));
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) {
    ticks.push(roundTo(10 ** e, 10 ** e));
    if (b - a <= 2 && e < b) ticks.push(roundTo(2 * 10 ** e, 10 ** e), roundTo(5 * 10 ** e, 10 ** e));
  }
  return { min: 10 ** a, max: 10 ** b, ticks };
}

/** `0.30000000000000004` -> `0.3`, `0.0001` -> `1e-4`, `120000` -> `1.2e+5`: short labels. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5 || abs < 1e-3) return v.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

function roundTo(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(digits, 20)));
}
