import { z } from 'zod';

/**
 * Where one optimizer step's wall time went, in seconds, by cause (docs/status.md, "Goodput").
 * The coordinator writes it into each step's metrics entry as `time`; the causes sum to `wall`.
 * Worker-side causes are averaged over the workers that took part in the step, so the whole is
 * one timeline of `wall` seconds, not worker-seconds.
 */
export const STEP_TIME_CAUSES = ['compute', 'data', 'pull', 'push', 'straggler', 'optimizer', 'checkpoint', 'failures', 'other'] as const;
export type StepTimeCause = (typeof STEP_TIME_CAUSES)[number];

/** What each cause means, for status, the report and the dashboard. */
export const STEP_TIME_LABELS: Readonly<Record<StepTimeCause, string>> = {
  compute: 'compute',
  data: 'data wait',
  pull: 'pull params',
  push: 'push grads',
  straggler: 'waiting for the slowest task',
  optimizer: 'optimizer',
  checkpoint: 'checkpoint',
  failures: 'lost to failures',
  other: 'other',
};

const seconds = z.number().nonnegative();
export const stepTimeSchema = z.object({
  wall: seconds,
  /** Workers whose results the step used: the divisor of the worker-side causes. */
  workers: z.number().int().nonnegative(),
  compute: seconds, data: seconds, pull: seconds, push: seconds, straggler: seconds,
  optimizer: seconds, checkpoint: seconds, failures: seconds, other: seconds,
});
export type StepTime = z.output<typeof stepTimeSchema>;

/**
 * Goodput: the share of the workers' time in the step that was productive compute,
 * compute ÷ wall (= Σ compute seconds ÷ (wall × workers)); 0 for a step of no time.
 */
export function goodput(t: Pick<StepTime, 'compute' | 'wall'>): number {
  return t.wall > 0 ? t.compute / t.wall : 0;
}

/** Sum of several steps' breakdowns (a stage's total); `workers` is the largest seen. */
export function sumStepTimes(times: readonly StepTime[]): StepTime {
  const out: Record<string, number> = { wall: 0, workers: 0 };
  for (const c of STEP_TIME_CAUSES) out[c] = 0;
  for (const t of times) {
    out.wall! += t.wall;
    out.workers = Math.max(out.workers!, t.workers);
    for (const c of STEP_TIME_CAUSES) out[c]! += t[c];
  }
  return out as StepTime;
}

/** The largest non-compute causes, biggest first (zero ones left out). */
export function topLosses(t: StepTime, n = 3): Array<{ cause: StepTimeCause; seconds: number; share: number }> {
  return STEP_TIME_CAUSES.filter((c) => c !== 'compute' && t[c] > 0)
    .map((cause) => ({ cause, seconds: t[cause], share: t.wall > 0 ? t[cause] / t.wall : 0 }))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, n);
}
