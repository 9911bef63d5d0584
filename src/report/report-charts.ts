import type { StageName } from '../config/index.js';
import type { StageMetrics } from './collect-run-metrics.js';
import { ema } from './ema.js';
import { lineChartSvg, PALETTE, type ChartPoint, type ChartSeries } from './line-chart-svg.js';
import { lossSeries, SMOOTHING } from './loss-series.js';
import { STEP_TIME_CAUSES, STEP_TIME_LABELS } from '../queue/step-time.js';

/** One chart of the report: inlined as SVG in the page, and written as `<name>.png`. */
export interface ReportChart {
  /** File stem and HTML anchor: `<stage>-losses`, `-lr`, `-throughput`, `-eval-<task>`. */
  readonly name: string;
  readonly stage: StageName;
  readonly title: string;
  readonly svg: string;
}

/** A loss axis goes logarithmic once its values span this ratio: early steps would flatten the rest. */
const LOG_SCALE_RATIO = 20;

/** Every chart for one stage's metrics; none for a stage without any (the page says so instead). */
export function stageCharts(stage: StageName, metrics: StageMetrics): ReportChart[] {
  const charts: ReportChart[] = [];
  const steps = metrics.steps.map((s) => s.step);
  const chart = (name: string, title: string, series: ChartSeries[], yLabel: string, logY = false) =>
    charts.push({ name: `${stage}-${name}`, stage, title, svg: lineChartSvg(series, { title, xLabel: 'step', yLabel, logY }) });

  if (steps.length > 0) {
    const losses = [...lossSeries(metrics)];
    const lossChartSeries = losses.flatMap(([key, values], i) => rawAndSmoothed(key, steps, values, PALETTE[i % PALETTE.length]!));
    chart('losses', `${stage} losses (raw and EMA ${SMOOTHING})`, lossChartSeries, 'loss', prefersLog(losses.flatMap(([, v]) => v)));
    chart('lr', `${stage} learning rate`, [{ label: 'lr', points: zip(steps, metrics.steps.map((s) => s.lr)), color: PALETTE[0] }], 'learning rate');
    // A step whose task results were lost reports 0 samples: no measurement, not a stall.
    const rate = metrics.steps.map((s) => (s.seconds > 0 && s.samples > 0 ? s.samples / s.seconds : Number.NaN));
    chart('throughput', `${stage} throughput`, rawAndSmoothed('samples/s', steps, rate, PALETTE[0]), 'samples / s');
    const timed = metrics.steps.filter((s) => s.time && s.time.wall > 0);
    if (timed.length > 0) {
      // Each cause's share of the step's wall time (EMA): goodput is the compute line.
      const causes = STEP_TIME_CAUSES.filter((c) => timed.some((s) => s.time![c] > 0));
      const series = causes.map((c, i): ChartSeries => ({
        label: STEP_TIME_LABELS[c], color: PALETTE[i % PALETTE.length],
        points: zip(timed.map((s) => s.step), ema(timed.map((s) => (100 * s.time![c]) / s.time!.wall), SMOOTHING)),
      }));
      chart('time', `${stage} step time by cause (EMA ${SMOOTHING}); compute = goodput`, series, '% of step wall time');
    }
  }

  const tasks = [...new Set(metrics.evals.map((e) => e.task))].sort(byName);
  for (const task of tasks) {
    // A re-run evaluation of the same step replaces the earlier one, as replayed training steps do.
    const byStep = new Map(metrics.evals.filter((e) => e.task === task).map((e) => [e.step, e] as const));
    const evals = [...byStep.values()].sort((a, b) => a.step - b.step);
    const keys = [...new Set(evals.flatMap((e) => Object.keys(e.scores)))].sort(byName);
    const series = keys.map((k, i): ChartSeries => ({
      label: k, markers: true, color: PALETTE[i % PALETTE.length],
      points: evals.map((e) => [e.step, e.scores[k] ?? Number.NaN] as const),
    }));
    chart(`eval-${task}`, `${stage} eval: ${task}`, series, 'score');
  }
  return charts;
}

function rawAndSmoothed(label: string, steps: readonly number[], values: readonly number[], color: string): ChartSeries[] {
  return [
    { label: `${label} (raw)`, points: zip(steps, values), color, faint: true },
    { label, points: zip(steps, ema(values, SMOOTHING)), color },
  ];
}

function prefersLog(values: readonly number[]): boolean {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0 || finite.some((v) => v <= 0)) return false;
  return finite.reduce((a, b) => Math.max(a, b)) / finite.reduce((a, b) => Math.min(a, b)) >= LOG_SCALE_RATIO;
}

const zip = (xs: readonly number[], ys: readonly number[]): ChartPoint[] => xs.map((x, i) => [x, ys[i] ?? Number.NaN]);
/** Natural order: i2t_r1, i2t_r5, i2t_r10 (not r1, r10, r5). */
const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
