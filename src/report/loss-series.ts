import type { StageMetrics } from './collect-run-metrics.js';

/** The coordinator's own smoothing (`0.9 * ema + 0.1 * x`), so the report agrees with `fiber status`. */
export const SMOOTHING = 0.1;

/**
 * Every objective's raw loss per step (NaN where a step lacks it), whatever objectives the stage
 * has (coarse: itc, itm, mlm; fine: its own), sorted by name with `total` last.
 */
export function lossSeries(metrics: StageMetrics): Map<string, number[]> {
  const keys = [...new Set(metrics.steps.flatMap((s) => Object.keys(s.losses)))]
    .sort((a, b) => Number(a === 'total') - Number(b === 'total') || a.localeCompare(b, 'en', { numeric: true }));
  return new Map(keys.map((k) => [k, metrics.steps.map((s) => s.losses[k] ?? Number.NaN)]));
}
