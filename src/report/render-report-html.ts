import type { RunStatus } from '../queue/status-report.js';
import { redactText } from '../log/redact.js';
import { formatNumber } from './axis-ticks.js';
import { escapeMarkup as esc } from './escape-markup.js';
import type { EvalRecord } from './metric-lines.js';
import type { ReportChart } from './report-charts.js';
import type { StageSummary } from './stage-summary.js';

/** Everything the page shows besides the charts. */
export interface ReportData {
  readonly run: RunStatus;
  /** Submitted stages and any with metrics, coarse before fine. */
  readonly stages: readonly StageSummary[];
  readonly generatedAt: string;
}

const STYLE = `
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } code { font-size: 0.95em; word-break: break-all; }
.failed { color: #b00020; } .note { color: #666; font-size: 0.9em; }
figure { margin: 1em 0; } figcaption { color: #666; font-size: 0.85em; } svg { max-width: 100%; height: auto; }
`;

/**
 * The report page: a summary table, then each stage's charts inlined as SVG. Self-contained (no
 * scripts, fonts or remote URLs) so it can be mailed or attached to a ticket; every string that
 * came from Redis is escaped, and credentials in URIs and error text are redacted first.
 */
export function renderReportHtml(data: ReportData, charts: readonly ReportChart[]): string {
  const { run } = data;
  const wall = data.stages.map((s) => s.wallSeconds).filter((s): s is number => s !== null);
  const rows: [string, string][] = [
    ['Run', `<code>${esc(run.name)}</code>`],
    ['State', esc(run.state)],
    ['Preset', esc(run.preset)],
    ['Config hash', run.configHash ? `<code>${esc(run.configHash)}</code>` : '—'],
    ['Created', esc(run.createdAt || '—')],
    ...(run.cancelledAt ? [['Cancelled', esc(run.cancelledAt)] as [string, string]] : []),
    ['Wall time', wall.length > 0 ? formatDuration(wall.reduce((a, b) => a + b, 0)) : '—'],
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>fiber report: ${esc(run.name)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>FIBER run <code>${esc(run.name)}</code></h1>`,
    `<p class="note">Generated ${esc(data.generatedAt)} by <code>fiber report</code>.</p>`,
    '<table class="run">',
    ...rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`),
    '</table>',
    stageTable(data.stages),
    ...data.stages.map((s) => stageSection(s, charts.filter((c) => c.stage === s.stage))),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function stageTable(stages: readonly StageSummary[]): string {
  if (stages.length === 0) return '<p>This run has no stages yet.</p>';
  const head = '<tr><th>Stage</th><th>State</th><th>Steps</th><th>Final smoothed losses</th><th>Final checkpoint</th><th>Wall time</th><th>Latest evals</th></tr>';
  const rows = stages.map((s) => {
    const state = s.state ?? 'no record';
    const steps = `${s.step ?? 0} / ${s.totalSteps ?? '?'}`;
    const losses = Object.entries(s.finalLosses).map(([k, v]) => `${esc(k)} ${formatNumber(v)}`).join('<br>') || '—';
    const checkpoint = s.checkpoint ? `<code>${esc(redactText(s.checkpoint))}</code>` : '—';
    const evals = s.latestEvals.map(evalLine).join('<br>') || '—';
    return `<tr><td><a href="#${esc(s.stage)}">${esc(s.stage)}</a></td><td${state === 'failed' ? ' class="failed"' : ''}>${esc(state)}</td><td>${steps}</td><td>${losses}</td><td>${checkpoint}</td><td>${s.wallSeconds === null ? '—' : formatDuration(s.wallSeconds)}</td><td>${evals}</td></tr>`;
  });
  return ['<table class="stages">', head, ...rows, '</table>'].join('\n');
}

function stageSection(s: StageSummary, charts: readonly ReportChart[]): string {
  const notes: string[] = [];
  if (s.error) notes.push(`<p class="failed">Error: ${esc(redactText(s.error))}</p>`);
  if (s.numSteps === 0) notes.push('<p>No metrics yet for this stage: the coordinator writes one line per step once it runs.</p>');
  const skipped = [plural(s.malformed.metrics, 'malformed metrics line'), plural(s.malformed.evals, 'malformed evals line')].filter(Boolean);
  if (skipped.length > 0) notes.push(`<p class="note">Skipped ${skipped.join(' and ')} (not valid JSON of the expected shape).</p>`);
  const figures = charts.map((c) => [
    `<figure id="${esc(c.name)}">`,
    c.svg,
    `<figcaption>${esc(c.title)} · <a href="${esc(c.name)}.png">PNG</a></figcaption>`,
    '</figure>',
  ].join('\n'));
  return [`<section id="${esc(s.stage)}">`, `<h2>${esc(s.stage)}</h2>`, ...notes, ...figures, '</section>'].join('\n');
}

function evalLine(e: EvalRecord): string {
  const scores = Object.entries(e.scores).map(([k, v]) => `${esc(k)} ${formatNumber(v)}`).join(', ');
  return `${esc(e.task)} @ step ${e.step} (n=${e.n}): ${scores}`;
}

/** `3725` -> `1h 02m 05s`. */
function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m ${pad(s % 60)}s` : m > 0 ? `${m}m ${pad(s % 60)}s` : `${s}s`;
}

function plural(n: number, what: string): string {
  return n === 0 ? '' : `${n} ${what}${n === 1 ? '' : 's'}`;
}
