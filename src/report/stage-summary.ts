import type { StageName } from '../config/index.js';
import type { StageState } from '../queue/run-registry.js';
import type { StageStatus } from '../queue/status-report.js';
import type { StageMetrics } from './collect-run-metrics.js';
import { ema } from './ema.js';
import { lossSeries, SMOOTHING } from './loss-series.js';
import type { EvalRecord } from './metric-lines.js';

/** One row of the report's summary table. */
export interface StageSummary {
  readonly stage: StageName;
  /** Registry state; null when the stage has metrics but no registry record (it was deleted). */
  readonly state: StageState | null;
  /** Last completed step (registry, else the last metrics line); null before the first. */
  readonly step: number | null;
  readonly totalSteps: number | null;
  /** Smoothed loss by objective at the last step: the charts' EMA, or the registry's without metrics. */
  readonly finalLosses: Readonly<Record<string, number>>;
  readonly checkpoint: string | null;
  readonly error: string | null;
  /** Started to finished (or to now while running); null if it never started. */
  readonly wallSeconds: number | null;
  /** The newest evaluation of each task, by step. */
  readonly latestEvals: readonly EvalRecord[];
  /** Metrics lines kept (one per step). */
  readonly numSteps: number;
  readonly malformed: StageMetrics['malformed'];
}

export function stageSummary(stage: StageName, status: StageStatus | undefined, metrics: StageMetrics, now: Date): StageSummary {
  const last = metrics.steps.at(-1);
  const smoothed = smoothedLosses(metrics);
  return {
    stage,
    state: status?.state ?? null,
    step: status?.step ?? last?.step ?? null,
    totalSteps: status?.totalSteps ?? null,
    finalLosses: Object.keys(smoothed).length > 0 ? smoothed : status?.losses ?? {},
    checkpoint: status?.checkpoint ?? null,
    error: status?.error ?? null,
    wallSeconds: wallSeconds(status, metrics, now),
    latestEvals: latestEvals(metrics.evals),
    numSteps: metrics.steps.length,
    malformed: metrics.malformed,
  };
}

function smoothedLosses(metrics: StageMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, values] of lossSeries(metrics)) out[k] = ema(values, SMOOTHING).at(-1) ?? Number.NaN;
  return out;
}

function wallSeconds(status: StageStatus | undefined, metrics: StageMetrics, now: Date): number | null {
  const first = metrics.steps[0];
  const last = metrics.steps.at(-1);
  if (status?.startedAt) {
    const end = status.finishedAt ? Date.parse(status.finishedAt) : status.state === 'running' ? now.getTime() : last?.t;
    return end === undefined ? null : Math.max(0, (end - Date.parse(status.startedAt)) / 1000);
  }
  // No registry times (record gone): the span the metrics cover, counting the first step's own time.
  return first && last ? (last.t - first.t) / 1000 + first.seconds : null;
}

function latestEvals(evals: readonly EvalRecord[]): EvalRecord[] {
  const byTask = new Map<string, EvalRecord>();
  for (const e of evals) {
    const seen = byTask.get(e.task);
    if (!seen || e.step >= seen.step) byTask.set(e.task, e);
  }
  return [...byTask.values()].sort((a, b) => a.task.localeCompare(b.task));
}
