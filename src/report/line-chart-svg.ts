import { formatNumber, linearTicks, logTicks, type AxisTicks } from './axis-ticks.js';
import { downsample } from './downsample.js';
import { escapeMarkup } from './escape-markup.js';

/** `[x, y]`; a point with a non-finite coordinate (or y <= 0 on a log axis) is a gap. */
export type ChartPoint = readonly [x: number, y: number];

export interface ChartSeries {
  /** Legend text (escaped here; any string is safe). */
  readonly label: string;
  readonly points: readonly ChartPoint[];
  /** Any SVG colour. @defaultValue the palette colour for the series' index */
  readonly color?: string;
  /** Thin and translucent: raw values drawn behind their smoothed line. */
  readonly faint?: boolean;
  /** A dot at every point, for sparse series such as evals. A lone point always gets one. */
  readonly markers?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Size in SVG user units (CSS px). @defaultValue 760 x 360 */
  readonly width?: number;
  readonly height?: number;
  /** Log-scale y axis; points with y <= 0 are then gaps. @defaultValue false */
  readonly logY?: boolean;
  /** Vertices kept per series (see downsample). @defaultValue 1500 */
  readonly maxPoints?: number;
}

/** Tableau 10: distinguishable, and still readable when printed in grey. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const MARGIN = { left: 72, right: 180, top: 40, bottom: 48 } as const;
const LEGEND_CHARS = 24;

/**
 * A standalone SVG line chart: title, framed plot with gridlines, tick labels and axis labels,
 * and a legend on the right. Pure (a string in, a string out) so the same markup is inlined
 * into the HTML report and rasterised to PNG by librsvg, and is testable without either.
 * No element ids: several charts share one HTML page.
 */
export function lineChartSvg(series: readonly ChartSeries[], opts: ChartOptions): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 360;
  const logY = opts.logY ?? false;
  const plot = { x0: MARGIN.left, y0: MARGIN.top, x1: width - MARGIN.right, y1: height - MARGIN.bottom };
  const drawable = (p: ChartPoint) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logY || p[1] > 0);
  const segmented = series.map((s) => segments(s.points, drawable, opts.maxPoints ?? 1500));
  const all = segmented.flat(2);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.x0}" y="${MARGIN.top - 16}" font-size="15" font-weight="bold" fill="#222222">${escapeMarkup(opts.title)}</text>`,
  ];
  if (all.length === 0) {
    out.push(frame(plot),
      `<text x="${mid(plot.x0, plot.x1)}" y="${mid(plot.y0, plot.y1)}" text-anchor="middle" font-size="14" fill="#888888">no data</text>`,
      '</svg>');
    return out.join('\n');
  }

  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xAxis = linearTicks(Math.min(...xs), Math.max(...xs), 6);
  const yAxis = logY ? logTicks(Math.min(...ys), Math.max(...ys)) : linearTicks(Math.min(...ys), Math.max(...ys), 5);
  const sx = scale(xAxis, plot.x0, plot.x1, false);
  const sy = scale(yAxis, plot.y1, plot.y0, logY);

  for (const t of yAxis.ticks) {
    const y = f(sy(t));
    out.push(`<line x1="${plot.x0}" y1="${y}" x2="${plot.x1}" y2="${y}" stroke="#e6e6e6" stroke-width="1"/>`,
      `<text x="${plot.x0 - 6}" y="${y}" dy="4" text-anchor="end" fill="#444444">${formatNumber(t)}</text>`);
  }
  for (const t of xAxis.ticks) {
    const x = f(sx(t));
    out.push(`<line x1="${x}" y1="${plot.y1}" x2="${x}" y2="${plot.y1 + 5}" stroke="#444444" stroke-width="1"/>`,
      `<text x="${x}" y="${plot.y1 + 18}" text-anchor="middle" fill="#444444">${formatNumber(t)}</text>`);
  }
  out.push(frame(plot),
    `<text x="${mid(plot.x0, plot.x1)}" y="${height - 10}" text-anchor="middle" fill="#222222">${escapeMarkup(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${mid(plot.y0, plot.y1)}) rotate(-90)" text-anchor="middle" fill="#222222">${escapeMarkup(opts.yLabel + (logY ? ' (log scale)' : ''))}</text>`);

  // Faint (raw) series first so every smoothed line is drawn on top of all the raw ones.
  const order = series.map((_, i) => i).sort((a, b) => Number(!series[a]!.faint) - Number(!series[b]!.faint));
  for (const i of order) {
    const s = series[i]!;
    const color = escapeMarkup(s.color ?? PALETTE[i % PALETTE.length]!);
    const stroke = s.faint ? `stroke-width="1" stroke-opacity="0.35"` : `stroke-width="2"`;
    for (const seg of segmented[i]!) {
      if (seg.length > 1) {
        const d = seg.map((p, k) => `${k === 0 ? 'M' : 'L'}${f(sx(p[0]))} ${f(sy(p[1]))}`).join(' ');
        out.push(`<path d="${d}" fill="none" stroke="${color}" ${stroke} stroke-linejoin="round"/>`);
      }
      if (s.markers || seg.length === 1) {
        for (const p of seg) out.push(`<circle cx="${f(sx(p[0]))}" cy="${f(sy(p[1]))}" r="3" fill="${color}"/>`);
      }
    }
  }
  out.push(...legend(series, plot.x1 + 16, plot.y0), '</svg>');
  return out.join('\n');
}

/** Runs of drawable points, each downsampled in proportion to its share of the whole. */
function segments(points: readonly ChartPoint[], drawable: (p: ChartPoint) => boolean, maxPoints: number): ChartPoint[][] {
  const runs: ChartPoint[][] = [];
  let run: ChartPoint[] = [];
  for (const p of points) {
    if (drawable(p)) run.push(p);
    else if (run.length > 0) { runs.push(run); run = []; }
  }
  if (run.length > 0) runs.push(run);
  const total = runs.reduce((n, r) => n + r.length, 0);
  if (total <= maxPoints) return runs;
  return runs.map((r) => downsample(r, Math.max(2, Math.ceil((r.length * maxPoints) / total))));
}

function scale(axis: AxisTicks, from: number, to: number, log: boolean): (v: number) => number {
  const t = log ? Math.log10 : (v: number) => v;
  const a = t(axis.min);
  const span = t(axis.max) - a || 1;
  return (v) => from + ((t(v) - a) / span) * (to - from);
}

function legend(series: readonly ChartSeries[], x: number, y: number): string[] {
  return series.flatMap((s, i) => {
    const color = escapeMarkup(s.color ?? PALETTE[i % PALETTE.length]!);
    const label = s.label.length > LEGEND_CHARS ? `${s.label.slice(0, LEGEND_CHARS - 1)}…` : s.label;
    const ly = y + 8 + i * 18;
    const stroke = s.faint ? `stroke-width="1.5" stroke-opacity="0.45"` : `stroke-width="2.5"`;
    return [
      `<line x1="${x}" y1="${ly}" x2="${x + 20}" y2="${ly}" stroke="${color}" ${stroke}/>`,
      `<text x="${x + 26}" y="${ly}" dy="4" fill="#222222">${escapeMarkup(label)}</text>`,
    ];
  });
}

function frame(plot: { x0: number; y0: number; x1: number; y1: number }): string {
  return `<rect x="${plot.x0}" y="${plot.y0}" width="${plot.x1 - plot.x0}" height="${plot.y1 - plot.y0}" fill="none" stroke="#444444" stroke-width="1"/>`;
}

const mid = (a: number, b: number) => f((a + b) / 2);
const f = (v: number) => String(Math.round(v * 10) / 10);
