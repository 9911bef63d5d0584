import type { Redis } from 'ioredis';
import { collectStatus, type StatusSources } from '../queue/collect-status.js';
import type { StatusReport } from '../queue/status-report.js';
import { collectRunMetrics } from './collect-run-metrics.js';
import { stageCharts, type ReportChart } from './report-charts.js';

/** What one refresh of `fiber dashboard` shows: the status snapshot and the selected run's charts. */
export interface DashboardView {
  readonly status: StatusReport;
  /** The run whose charts are drawn: the one asked for, else the newest. */
  readonly run: string | null;
  readonly charts: readonly DashboardChart[];
}

export interface DashboardChart extends ReportChart {
  /** Steps of metrics behind the chart (the stage's metrics lines, one per step). */
  readonly steps: number;
}

/** Read everything the page needs, only reading Redis (like `fiber status` and `fiber report`). */
export async function collectDashboardView(redis: Redis, sources: StatusSources, run: string | undefined, now: Date): Promise<DashboardView> {
  const status = await collectStatus(sources, undefined, now);
  const chosen = run && status.runs.some((r) => r.name === run) ? run : status.runs[0]?.name ?? null;
  if (!chosen) return { status, run: null, charts: [] };
  const metrics = await collectRunMetrics(redis, chosen);
  const charts = (['coarse', 'fine'] as const).flatMap((stage) =>
    stageCharts(stage, metrics[stage]).map((c) => ({ ...c, steps: metrics[stage].steps.length })));
  return { status, run: chosen, charts };
}
