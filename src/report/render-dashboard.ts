import { redactText } from '../log/redact.js';
import { STEP_TIME_CAUSES, STEP_TIME_LABELS, type StepTime } from '../queue/step-time.js';
import type { StageStatus } from '../queue/status-report.js';
import { PALETTE } from './line-chart-svg.js';
import { escapeMarkup as esc } from './escape-markup.js';
import type { DashboardView } from './dashboard-view.js';

/**
 * The dashboard's body for one refresh, as HTML: runs with progress, ETA, losses, LR, throughput,
 * goodput and evals; the selected run's charts; the workers. Rendered on the server (the page's
 * script only swaps it in), every string from Redis escaped and URIs and errors redacted.
 */
export function renderDashboardBody(view: DashboardView): string {
  const { status } = view;
  const out: string[] = [`<p class="note">Updated ${esc(status.generatedAt)} · Redis ${esc(status.redis.url)} · tasks: ${status.queues.tasks.waiting} waiting, ${status.queues.tasks.active} active, ${status.queues.tasks.failed} failed</p>`];
  if (status.runs.length === 0) out.push('<p>No runs yet. Submit one with <code>fiber pretrain --stage coarse --config run.yaml</code>.</p>');
  out.push('<section id="runs"><h2>Runs</h2>');
  for (const run of status.runs) {
    const selected = run.name === view.run;
    out.push(`<div class="run${selected ? ' selected' : ''}" data-run="${esc(run.name)}">`,
      `<h3><a href="?run=${encodeURIComponent(run.name)}">${esc(run.name)}</a> <span class="state ${esc(run.state)}">${esc(run.state)}</span> <span class="note">${esc(run.preset)} · ${esc(run.configHash)} · created ${esc(run.createdAt)}</span></h3>`);
    for (const s of run.stages) out.push(stageBlock(s));
    if (run.errors.length > 0) {
      out.push('<details><summary>last errors</summary><ul>', ...run.errors.map((e) => `<li>${esc(e.at)} ${esc(e.stage)} ${esc(e.source)}: ${esc(redactText(e.message))}</li>`), '</ul></details>');
    }
    out.push('</div>');
  }
  out.push('</section>');
  if (view.run) {
    out.push(`<section id="charts"><h2>Charts of <code>${esc(view.run)}</code></h2>`);
    if (view.charts.length === 0) out.push('<p class="note">No steps recorded yet.</p>');
    for (const c of view.charts) out.push(`<figure class="chart" data-chart="${esc(c.name)}" data-steps="${c.steps}">${c.svg}</figure>`);
    out.push('</section>');
  }
  out.push('<section id="workers"><h2>Workers</h2>');
  if (status.workers.length === 0) out.push('<p class="note">No worker has reported.</p>');
  else {
    out.push('<table><tr><th>id</th><th>host</th><th>backend</th><th>state</th><th>tasks</th><th>last heartbeat</th><th>task</th></tr>',
      ...status.workers.map((w) => `<tr class="worker ${esc(w.state)}"><td>${esc(w.id)}</td><td>${esc(w.host)}</td><td>${esc(w.backend)}</td><td class="state ${esc(w.state)}">${esc(w.state)}</td><td>${w.tasksDone}</td><td>${esc(w.lastHeartbeat)}</td><td>${esc(w.task ?? '')}</td></tr>`),
      '</table>');
  }
  out.push('</section>');
  return out.join('\n');
}

function stageBlock(s: StageStatus): string {
  const step = s.step ?? 0;
  const pct = s.totalSteps > 0 ? Math.min(100, (100 * step) / s.totalSteps) : 0;
  const facts = [
    `${s.step ?? '–'} / ${s.totalSteps} steps`,
    s.samplesPerSec !== null ? `${s.samplesPerSec.toFixed(1)} samples/s` : null,
    s.etaSeconds !== null ? `ETA ${duration(s.etaSeconds)}` : null,
    s.lr !== null ? `lr ${s.lr.toExponential(2)}` : null,
    s.time ? `goodput ${(100 * s.time.goodput).toFixed(1)}%` : null,
  ].filter((x): x is string => x !== null);
  const lines = [
    `<div class="stage" data-stage="${esc(s.stage)}"><div><b>${esc(s.stage)}</b> <span class="state ${esc(s.state)}">${esc(s.state)}</span> ${facts.map(esc).join(' · ')}</div>`,
    `<div class="bar"><div style="width:${pct.toFixed(1)}%"></div></div>`,
  ];
  const losses = Object.entries(s.losses);
  if (losses.length > 0) lines.push(`<div class="note">loss ${losses.map(([k, v]) => `${esc(k)} ${v.toFixed(4)}`).join(' · ')}</div>`);
  if (s.eval) lines.push(`<div class="note">eval @${s.eval.step} ${esc(s.eval.task)}: ${Object.entries(s.eval.scores).map(([k, v]) => `${esc(k)} ${(100 * v).toFixed(1)}%`).join(' · ')}</div>`);
  if (s.time) lines.push(timeBar(s.time.seconds));
  if (s.error) lines.push(`<div class="failed">${esc(redactText(s.error))}</div>`);
  lines.push('</div>');
  return lines.join('\n');
}

/** The stage's step time by cause as one stacked bar (SVG), with a legend of shares. */
function timeBar(t: StepTime): string {
  const width = 600;
  let x = 0;
  const rects: string[] = [];
  const legend: string[] = [];
  STEP_TIME_CAUSES.forEach((c, i) => {
    if (!(t[c] > 0) || !(t.wall > 0)) return;
    const w = (width * t[c]) / t.wall;
    const color = PALETTE[i % PALETTE.length]!;
    rects.push(`<rect class="cause" data-cause="${c}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="14" fill="${color}"><title>${esc(STEP_TIME_LABELS[c])} ${(100 * t[c] / t.wall).toFixed(1)}%</title></rect>`);
    legend.push(`<span><i style="background:${color}"></i>${esc(STEP_TIME_LABELS[c])} ${(100 * t[c] / t.wall).toFixed(1)}%</span>`);
    x += w;
  });
  return `<div class="time"><svg class="time-bar" width="${width}" height="14" viewBox="0 0 ${width} 14">${rects.join('')}</svg><div class="legend">${legend.join(' ')}</div></div>`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
