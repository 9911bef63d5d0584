import { STEP_TIME_LABELS, topLosses } from '../queue/step-time.js';
import type { QueueCounts, RunStatus, StageStatus, StatusReport } from '../queue/status-report.js';

export interface RenderOptions {
  readonly color: boolean;
}

const STATE_COLOR: Record<string, number> = { queued: 36, waiting: 90, running: 33, completed: 32, failed: 31, cancelled: 35 };

/** The human view of `fiber status`: one block per run, then the queues. Pure: report in, text out. */
export function renderStatus(report: StatusReport, opts: RenderOptions): string {
  const paint = (state: string, text: string) => (opts.color ? `\x1b[${STATE_COLOR[state] ?? 0}m${text}\x1b[0m` : text);
  const lines: string[] = [];
  if (report.runs.length === 0) lines.push('No runs yet. Submit one with: fiber pretrain --stage coarse --config run.yaml');
  for (const run of report.runs) lines.push(...renderRun(run, paint), '');
  if (report.workers.length > 0) {
    lines.push(`workers ${'id'.padEnd(24)} ${'host'.padEnd(16)} ${'backend'.padEnd(14)} ${'state'.padEnd(9)} ${'tasks'.padStart(6)}  last heartbeat`);
    for (const w of report.workers) {
      lines.push(`        ${w.id.padEnd(24)} ${w.host.padEnd(16)} ${w.backend.padEnd(14)} ${paint(w.state === 'lost' ? 'failed' : w.state === 'busy' ? 'running' : 'queued', w.state.padEnd(9))} ${String(w.tasksDone).padStart(6)}  ${short(w.lastHeartbeat)}${w.task ? `  (${w.task})` : ''}`);
    }
  }
  if (report.coordinator !== undefined) {
    const c = report.coordinator;
    lines.push(c ? `coordinator ${c.host} (pid ${c.pid}, --shards ${c.shards}, lease token ${c.token}) since ${short(c.since)}`
      : 'coordinator none: no parameter-server shard 0 holds the lease (start `fiber ps --shard 0`)');
  }
  lines.push(`queues  stages: ${counts(report.queues.stages)}   tasks: ${counts(report.queues.tasks)}`);
  lines.push(`redis   ${report.redis.url} (${report.redis.version})   at ${report.generatedAt}`);
  return lines.join('\n');
}

function renderRun(run: RunStatus, paint: (state: string, text: string) => string): string[] {
  const head = `${run.name}  ${paint(run.state, run.state.toUpperCase())}  preset ${run.preset}  config ${run.configHash}  created ${short(run.createdAt)}`;
  const lines = [head];
  if (run.cancelledAt) lines.push(`  cancelled at ${short(run.cancelledAt)}`);
  for (const s of run.stages) lines.push(...renderStage(s, paint));
  if (run.errors.length > 0) {
    lines.push('  last errors:');
    for (const e of run.errors) lines.push(`    ${short(e.at)}  ${e.stage}  ${e.source}: ${e.message}`);
  }
  return lines;
}

function renderStage(s: StageStatus, paint: (state: string, text: string) => string): string[] {
  const state = paint(s.state, s.state.padEnd(9));
  const step = s.step ?? 0;
  const parts = [`  ${s.stage.padEnd(6)} ${state} ${bar(step / Math.max(1, s.totalSteps))} ${s.step ?? '-'}/${s.totalSteps}`];
  if (s.samplesPerSec !== null) parts.push(`${s.samplesPerSec.toFixed(1)} samples/s`);
  if (s.etaSeconds !== null) parts.push(`ETA ${duration(s.etaSeconds)}`);
  if (s.lr !== null) parts.push(`lr ${s.lr.toExponential(2)}`);
  const lines = [parts.join('  ')];
  const losses = Object.entries(s.losses);
  if (losses.length > 0) lines.push(`         loss ${losses.map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`);
  if (s.time) {
    const lost = topLosses(s.time.seconds).map((l) => `${STEP_TIME_LABELS[l.cause]} ${(100 * l.share).toFixed(0)}%`);
    lines.push(`         goodput ${(100 * s.time.goodput).toFixed(1)}%${lost.length > 0 ? `  lost to: ${lost.join(', ')}` : ''}`);
  }
  const skipped = Object.entries(s.skipped);
  if (skipped.length > 0) lines.push(`         skipped ${skipped.map(([k, v]) => `${k} ${v}`).join('  ')}`);
  if (s.eval) {
    const shown = Object.entries(s.eval.scores).filter(([k]) => !k.startsWith('itm_'));
    lines.push(`         eval @${s.eval.step} ${s.eval.task}: ${shown.map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join('  ')}`);
  }
  if (s.state === 'waiting') lines.push('         starts from the coarse checkpoint when the coarse stage completes');
  if (s.init) lines.push(`         from ${s.init}`);
  if (s.checkpoint) lines.push(`         checkpoint ${s.checkpoint}`);
  if (s.cancelRequested && s.state === 'running') lines.push('         cancel requested: stops at the next step boundary');
  if (s.error) lines.push(`         error: ${s.error}`);
  return lines;
}

/** `[####......]`: a progress bar of `width` cells. */
export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function counts(c: QueueCounts): string {
  return `${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed, ${c.completed} done, ${c.failed} failed`;
}

function short(iso: string): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
