import type { Queue } from 'bullmq';
import type { RunConfig } from '../config/index.js';
import { STAGE_NAMES } from '../config/index.js';
import { registeredConfig, type RunRecord, type RunRegistry, type StageRecord, type StageState } from './run-registry.js';
import type { RunErrorEntry } from './run-errors.js';
import { goodput, STEP_TIME_CAUSES, type StepTime } from './step-time.js';
import { STATUS_SCHEMA, type CoordinatorStatus, type QueueCounts, type RunStatus, type StageStatus, type StatusReport } from './status-report.js';

export interface StatusSources {
  readonly registry: RunRegistry;
  readonly stageQueue: Queue;
  readonly taskQueue: Queue;
  readonly redis: { readonly url: string; readonly version: string };
  /** The coordinator lease's holder (src/ps/coordinator-lease.ts readLeaseHolder); the report omits it when absent. */
  readonly coordinator?: () => Promise<CoordinatorStatus | null>;
}

/** One consistent-enough snapshot of every run (or one) and the queues, for `fiber status`. */
export async function collectStatus(src: StatusSources, runName: string | undefined, now: Date): Promise<StatusReport> {
  const [records, stages, tasks, workers, coordinator] = await Promise.all([
    (runName ? src.registry.get(runName).then((r) => (r ? [r] : [])) : src.registry.list())
      .then((rs) => Promise.all(rs.map(async (r) => ({ r, errors: await src.registry.lastErrors(r.name) })))),
    counts(src.stageQueue),
    counts(src.taskQueue),
    src.registry.workers(),
    src.coordinator?.(),
  ]);
  return {
    schema: STATUS_SCHEMA,
    generatedAt: now.toISOString(),
    redis: src.redis,
    ...(coordinator !== undefined ? { coordinator } : {}),
    queues: { stages, tasks },
    runs: records.map(({ r, errors }) => runStatus(r, errors)),
    workers: workers.map((w) => (now.getTime() - Date.parse(w.lastHeartbeat) > WORKER_LOST_MS && w.state !== 'stopped' ? { ...w, state: 'lost' } : w))
      .sort((a, b) => b.lastHeartbeat.localeCompare(a.lastHeartbeat)),
  };
}

/** A worker silent this long is shown as lost (it heartbeats every 2 s). */
export const WORKER_LOST_MS = 30_000;

async function counts(queue: Queue): Promise<QueueCounts> {
  const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children');
  return {
    waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0),
    active: c.active ?? 0,
    delayed: c.delayed ?? 0,
    completed: c.completed ?? 0,
    failed: c.failed ?? 0,
  };
}

export function runStatus(record: RunRecord, errors: readonly RunErrorEntry[] = []): RunStatus {
  // Status shows every run, even one whose stored config no longer validates (then without totals).
  let config: RunConfig | null = null;
  try {
    config = registeredConfig(record);
  } catch {
    config = null;
  }
  const stages = STAGE_NAMES.flatMap((name) => {
    const s = record.stages[name];
    return s ? [stageStatus(s, config)] : [];
  });
  return {
    name: record.name,
    state: runState(record, stages),
    preset: config?.preset ?? 'unknown',
    configHash: record.configHash,
    createdAt: record.createdAt,
    cancelledAt: record.cancelledAt,
    stages,
    errors,
  };
}

function stageStatus(s: StageRecord, config: RunConfig | null): StageStatus {
  const totalSteps = config?.optimizer[s.stage].totalSteps ?? 0;
  const globalBatch = config?.batch[s.stage].globalBatch ?? 0;
  const step = num(s.fields.step);
  const samplesPerSec = num(s.fields.samplesPerSec);
  const running = s.state === 'running';
  const etaSeconds = running && step !== null && samplesPerSec && globalBatch
    ? Math.round(((totalSteps - step) * globalBatch) / samplesPerSec) : null;
  return {
    stage: s.stage,
    state: s.state,
    jobId: s.jobId,
    submittedAt: s.submittedAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    init: s.init,
    checkpoint: s.checkpoint,
    error: s.error,
    cancelRequested: s.cancelRequestedAt !== null,
    step,
    totalSteps,
    samplesPerSec,
    etaSeconds,
    lr: num(s.fields.lr),
    losses: prefixed(s.fields, 'loss.'),
    skipped: prefixed(s.fields, 'skipped.'),
    eval: evalStatus(s.fields),
    time: timeStatus(s.fields),
  };
}

/** The stage's summed step-time breakdown (`time.<cause>` fields the coordinator adds to). */
function timeStatus(fields: Readonly<Record<string, string>>): StageStatus['time'] {
  const t = prefixed(fields, 'time.');
  if (!(t.wall! > 0)) return null;
  const seconds = { wall: t.wall!, workers: 0 } as Record<string, number>;
  for (const c of STEP_TIME_CAUSES) seconds[c] = t[c] ?? 0;
  const s = seconds as StepTime;
  return { goodput: goodput(s), seconds: s };
}

/** The latest in-training evaluation a worker recorded on the stage (recordEval), if any. */
function evalStatus(fields: Readonly<Record<string, string>>): StageStatus['eval'] {
  const step = num(fields['eval.step']);
  const task = fields['eval.task'];
  if (step === null || (task !== 'retrieval' && task !== 'grounding')) return null;
  return { step, task, scores: prefixed(fields, 'eval.score.') };
}

/** A run's headline state: the most telling of its stages'. */
function runState(record: RunRecord, stages: readonly StageStatus[]): StageState {
  if (record.cancelledAt) return stages.some((s) => s.state === 'running') ? 'running' : 'cancelled';
  const states = new Set(stages.map((s) => s.state));
  for (const s of ['failed', 'running', 'queued', 'waiting'] as const) if (states.has(s)) return s;
  return stages.length > 0 && stages.every((s) => s.state === 'completed') ? 'completed' : 'queued';
}

function num(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function prefixed(fields: Readonly<Record<string, string>>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(fields)) {
    const n = num(v);
    if (k.startsWith(prefix) && n !== null) out[k.slice(prefix.length)] = n;
  }
  return out;
}
