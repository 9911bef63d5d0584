import type { Redis } from 'ioredis';
import { readRunErrors, type RunErrorEntry } from './run-errors.js';
import { parseStoredRunConfig, STAGE_NAMES, type RunConfig, type StageName } from '../config/index.js';
import { registryKeys, WORKERS_KEY } from './keys.js';
import type { WorkerStatus } from './status-report.js';
import { parseWorkerRecord } from './worker-record.js';

/** Life of a stage. `waiting`: a fine stage held until its run's coarse stage completes. */
export const STAGE_STATES = ['waiting', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type StageState = (typeof STAGE_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<StageState> = new Set(['completed', 'failed', 'cancelled']);

export interface StageRecord {
  readonly stage: StageName;
  readonly state: StageState;
  readonly jobId: string;
  readonly submittedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** Checkpoint the stage starts from (null: seeded init; fine waiting: filled at promotion). */
  readonly init: string | null;
  /** Final checkpoint URI once completed. */
  readonly checkpoint: string | null;
  readonly error: string | null;
  readonly cancelRequestedAt: string | null;
  /** Raw progress fields written by the coordinator (step, losses, ...); parsed by run-status. */
  readonly fields: Readonly<Record<string, string>>;
}

export interface RunRecord {
  readonly name: string;
  readonly configHash: string;
  /** The resolved config as submitted (JSON text, canonical). */
  readonly configJson: string;
  readonly createdAt: string;
  readonly cancelledAt: string | null;
  readonly stages: Partial<Record<StageName, StageRecord>>;
}

export type RegisterOutcome =
  | { readonly kind: 'created' }
  | { readonly kind: 'exists' }
  | { readonly kind: 'mismatch'; readonly existingHash: string }
  | { readonly kind: 'cancelled'; readonly cancelledAt: string };

/*
 * register-run (2 keys). KEYS: run hash, runs zset. ARGV: name, configHash, configJson, nowIso, nowMs.
 * Output: {1} created, {0} exists with the same hash, {-1, hash} other hash, {-2, cancelledAt}.
 */
const REGISTER_RUN = `
local hash = redis.call('HGET', KEYS[1], 'configHash')
if hash then
  local cancelled = redis.call('HGET', KEYS[1], 'cancelledAt')
  if cancelled then return {-2, cancelled} end
  if hash == ARGV[2] then return {0} end
  return {-1, hash}
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'configHash', ARGV[2], 'config', ARGV[3], 'createdAt', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return {1}`;

/*
 * transition-stage (1 key). KEYS: stage hash. ARGV: newState, allowed old states (comma list),
 * then field/value pairs to set with the transition.
 * Output: 1 moved, 0 refused (state not in the list or stage missing).
 */
const TRANSITION_STAGE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local ok = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == state then ok = true end end
if not ok then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`;

/*
 * create-stage (1 key). KEYS: stage hash. ARGV: field/value pairs (must include state).
 * Output: 1 created, 0 the stage already exists (nothing written).
 */
const CREATE_STAGE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`;

const KNOWN_STAGE_FIELDS = new Set(['stage', 'state', 'jobId', 'submittedAt', 'startedAt', 'finishedAt', 'init', 'checkpoint', 'error', 'cancelRequestedAt', 'resumedAt']);

/**
 * The run registry in Redis: which runs exist, with which config, and where each stage is.
 * All state changes are atomic (Lua), so two submits or a submit racing the coordinator cannot
 * interleave into an inconsistent run.
 */
export class RunRegistry {
  constructor(private readonly redis: Redis) {}

  async register(name: string, configHash: string, configJson: string, now: Date): Promise<RegisterOutcome> {
    const out = (await this.redis.eval(REGISTER_RUN, 2, registryKeys.run(name), registryKeys.runs,
      name, configHash, configJson, now.toISOString(), String(now.getTime()))) as [number, string?];
    switch (out[0]) {
      case 1: return { kind: 'created' };
      case 0: return { kind: 'exists' };
      case -1: return { kind: 'mismatch', existingHash: String(out[1]) };
      default: return { kind: 'cancelled', cancelledAt: String(out[1]) };
    }
  }

  /** Create a stage record unless one exists; returns false (and writes nothing) if it does. */
  async createStage(run: string, stage: StageName, fields: Record<string, string>): Promise<boolean> {
    const args = Object.entries({ stage, ...fields }).flat();
    return (await this.redis.eval(CREATE_STAGE, 1, registryKeys.stage(run, stage), ...args)) === 1;
  }

  /** Compare-and-set a stage's state; extra fields are written only if the move happens. */
  async transition(run: string, stage: StageName, from: readonly StageState[], to: StageState, fields: Record<string, string> = {}): Promise<boolean> {
    const args = Object.entries(fields).flat();
    return (await this.redis.eval(TRANSITION_STAGE, 1, registryKeys.stage(run, stage), to, from.join(','), ...args)) === 1;
  }

  /** Write progress fields (step, losses, ...) without touching the state. */
  async updateStage(run: string, stage: StageName, fields: Record<string, string>): Promise<void> {
    if (Object.keys(fields).length > 0) await this.redis.hset(registryKeys.stage(run, stage), fields);
  }

  async markCancelled(run: string, now: Date): Promise<boolean> {
    return (await this.redis.hsetnx(registryKeys.run(run), 'cancelledAt', now.toISOString())) === 1;
  }

  async get(name: string): Promise<RunRecord | null> {
    const pipeline = this.redis.pipeline().hgetall(registryKeys.run(name));
    for (const stage of STAGE_NAMES) pipeline.hgetall(registryKeys.stage(name, stage));
    const results = (await pipeline.exec()) ?? [];
    const [runResult, ...stageResults] = results.map(([err, value]) => {
      if (err) throw err;
      return value as Record<string, string>;
    });
    if (!runResult || !runResult.configHash) return null;
    const stages: Partial<Record<StageName, StageRecord>> = {};
    STAGE_NAMES.forEach((stage, i) => {
      const h = stageResults[i];
      if (h && h.state) stages[stage] = toStageRecord(stage, h);
    });
    return {
      name,
      configHash: runResult.configHash,
      configJson: runResult.config ?? '{}',
      createdAt: runResult.createdAt ?? '',
      cancelledAt: runResult.cancelledAt ?? null,
      stages,
    };
  }

  /** Run names, newest first. */
  async names(limit = 100): Promise<string[]> {
    return this.redis.zrevrange(registryKeys.runs, 0, limit - 1);
  }

  /** Worker heartbeat records (written by src/worker/task-worker.ts under WORKERS_KEY). */
  /** The run's newest problems (recordRunError), newest first. */
  lastErrors(run: string, n = 5): Promise<RunErrorEntry[]> {
    return readRunErrors(this.redis, run, n);
  }

  async workers(): Promise<WorkerStatus[]> {
    const h = await this.redis.hgetall(WORKERS_KEY);
    return Object.values(h).flatMap((v) => {
      const w = parseWorkerRecord(v);
      return w ? [{ id: w.id, host: w.host, backend: w.backend, state: w.state, task: w.task, tasksDone: w.tasksDone, lastHeartbeat: w.lastHeartbeat }] : [];
    });
  }

  async list(limit = 100): Promise<RunRecord[]> {
    const records = await Promise.all((await this.names(limit)).map((n) => this.get(n)));
    return records.filter((r): r is RunRecord => r !== null);
  }
}

/** A run's config as registered (canonical JSON), validated again: a RunConfig, never a cast. */
export function registeredConfig(record: RunRecord): RunConfig {
  return parseStoredRunConfig(JSON.parse(record.configJson));
}

function toStageRecord(stage: StageName, h: Record<string, string>): StageRecord {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (!KNOWN_STAGE_FIELDS.has(k)) fields[k] = v;
  return {
    stage,
    state: h.state as StageState,
    jobId: h.jobId ?? '',
    submittedAt: h.submittedAt ?? '',
    startedAt: h.startedAt || null,
    finishedAt: h.finishedAt || null,
    init: h.init || null,
    checkpoint: h.checkpoint || null,
    error: h.error || null,
    cancelRequestedAt: h.cancelRequestedAt || null,
    fields,
  };
}
