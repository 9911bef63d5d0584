import type { DemoSummary } from '../demo/demo-summary.js';
import type { StageStatus, StatusReport } from '../queue/status-report.js';
import { bar, duration } from './render-status.js';

/** One line of live progress: the running stage (or the last one), its bar, speed, ETA and losses. */
export function demoProgressLine(report: StatusReport): string {
  const stages = report.runs[0]?.stages ?? [];
  const s: StageStatus | undefined = stages.find((x) => x.state === 'running') ?? stages.find((x) => x.state === 'queued') ?? stages.at(-1);
  if (!s) return 'waiting for the run to register';
  const step = s.step ?? 0;
  const parts = [`${s.stage.padEnd(6)} ${bar(step / Math.max(1, s.totalSteps), 24)} ${String(step).padStart(String(s.totalSteps).length)}/${s.totalSteps}`];
  if (s.state !== 'running') parts.push(s.state);
  if (s.samplesPerSec !== null) parts.push(`${s.samplesPerSec.toFixed(1)} samples/s`);
  if (s.etaSeconds !== null && s.state === 'running') parts.push(`ETA ${duration(s.etaSeconds)}`);
  const losses = Object.entries(s.losses).filter(([k]) => k !== 'total');
  if (s.losses.total !== undefined) parts.push(`loss ${s.losses.total.toFixed(3)}${losses.length ? ` (${losses.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' ')})` : ''}`);
  const busy = report.workers.filter((w) => w.state === 'busy').length;
  if (report.workers.length > 0) parts.push(`${busy}/${report.workers.length} workers busy`);
  return parts.join('  ');
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

/** The closing summary: what ran, how the losses moved, what the model learned, where things are. */
export function renderDemoSummary(s: DemoSummary): string {
  const lines = [
    '',
    `fiber demo: run ${s.run} finished in ${duration(s.seconds)} (${s.workers} worker(s), ${s.shards} shard(s), seed ${s.seed})`,
    '',
    'stage   steps  loss (first 10 -> last 10)  samples/s  goodput  time     final weights (sha256)',
  ];
  for (const st of s.stages) {
    const loss = st.lossFirst !== null && st.lossLast !== null ? `${st.lossFirst.toFixed(3)} -> ${st.lossLast.toFixed(3)}` : '-';
    lines.push(`${st.stage.padEnd(7)} ${String(st.steps).padStart(5)}  ${loss.padEnd(26)}  ${(st.samplesPerSec?.toFixed(1) ?? '-').padStart(9)}  ${(st.goodput === null ? '-' : `${(100 * st.goodput).toFixed(0)}%`).padStart(7)}  ${duration(st.seconds).padEnd(7)}  ${st.modelSha256?.slice(0, 16) ?? '-'}`);
  }
  lines.push('', `held-out evaluation (${s.data.generated ? 'generated scenes never trained on' : s.data.eval}):`);
  for (const e of s.evals) {
    const keys = e.task === 'retrieval' ? ['i2t_r1', 'i2t_r5', 't2i_r1', 't2i_r5'] : ['acc@0.5'];
    lines.push(`  ${e.task} (${e.n} ${e.task === 'retrieval' ? 'image-caption pairs' : 'phrases'})`);
    lines.push(`    ${'metric'.padEnd(10)} ${'trained'.padStart(8)} ${'start'.padStart(8)} ${'chance'.padStart(8)}`);
    for (const k of keys) lines.push(`    ${k.padEnd(10)} ${pct(e.scores[k]).padStart(8)} ${pct(e.untrained[k]).padStart(8)} ${pct(e.chance[k]).padStart(8)}`);
  }
  lines.push('', 'checkpoints:');
  for (const st of s.stages) lines.push(`  ${st.stage.padEnd(6)} ${st.modelFile ?? st.checkpoint ?? '-'}`);
  if (s.report) lines.push(`report:      ${s.report.html}`);
  lines.push(`logs:        ${s.logs}`);
  const restarts = Object.entries(s.restarts);
  if (s.chaos) lines.push(`chaos:       ${s.chaos.kills.length} kill(s), one every ${s.chaos.everySeconds} s (seed ${s.chaos.seed})${s.chaos.kills.length ? `: ${s.chaos.kills.map((k) => `${k.name}@${k.at}s`).join(', ')}` : ''}`);
  lines.push(`restarts:    ${restarts.length > 0 ? restarts.map(([name, n]) => `${name} x${n}`).join(', ') : 'none'}${restarts.length > 0 ? ' (restarted with back-off as Kubernetes would; the run went on)' : ''}`);
  lines.push('', `Same seed, any --workers/--shards: the same sha256 above (try: fiber demo --workers 1 --shards 1 --seed ${s.seed}).`);
  return lines.join('\n');
}
