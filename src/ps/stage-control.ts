import type { Redis } from 'ioredis';
import type { RunConfig, StageName } from '../config/index.js';
import type { TokenizerIdentity } from '../data/tokenizer-identity.js';
import type { CheckpointFile } from './checkpoint-layout.js';

/**
 * The control plane between the coordinator (shard 0), the shards and the workers, in Redis.
 * Small JSON records only: parameters and gradients travel over the shards' TCP port.
 *
 *   fiber:ps:shard:<i>                 shard i's address and start time, refreshed every 5 s (TTL 15 s)
 *   fiber:ps:active                    the stage being trained (ActiveStage), or absent
 *   fiber:ps:epoch:<e>:ready           HASH shard -> version it loaded for epoch e
 *   fiber:ps:epoch:<e>:version         HASH shard -> last version applied
 *   fiber:ps:epoch:<e>:save            the checkpoint the coordinator asks for (SaveRequest)
 *   fiber:ps:epoch:<e>:saved:<step>    HASH shard -> CheckpointFile JSON, once written
 *   fiber:ps:epoch:<e>:preempt         set by a shard on SIGTERM: checkpoint at the next step
 *   fiber:ps:epoch:<e>:norm:<step>     gradient-norm partials (norm-exchange.ts)
 *
 * An epoch is one activation of a stage (a start, or a restart from the latest checkpoint after
 * a shard came back); task job ids carry it, so the work of an abandoned epoch is never counted.
 */
export const SHARD_TTL_S = 15;
export const SHARD_HEARTBEAT_MS = 5000;

export const psKeys = {
  shard: (i: number) => `fiber:ps:shard:${i}`,
  active: 'fiber:ps:active',
  /** Global sequence of epoch ids. */
  epochSeq: 'fiber:ps:epoch-seq',
  /** How many epochs a stage took (1 + restarts). */
  epochCounter: (run: string, stage: string) => `fiber:ps:epochs:${run}:${stage}`,
  epoch: (e: string) => `fiber:ps:epoch:${e}`,
  ready: (e: string) => `fiber:ps:epoch:${e}:ready`,
  version: (e: string) => `fiber:ps:epoch:${e}:version`,
  save: (e: string) => `fiber:ps:epoch:${e}:save`,
  saved: (e: string, step: number) => `fiber:ps:epoch:${e}:saved:${step}`,
  preempt: (e: string) => `fiber:ps:epoch:${e}:preempt`,
} as const;

export interface ShardRecord {
  readonly shard: number;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Identifies one life of the shard process: a restart changes it. */
  readonly startedAt: string;
}

export interface ActiveStage {
  readonly epoch: string;
  readonly run: string;
  readonly stage: StageName;
  readonly configHash: string;
  readonly config: RunConfig;
  readonly numShards: number;
  /** Step directory every shard loads its range from; the parameters there are at `startStep`. */
  readonly loadFrom: string;
  readonly startStep: number;
  /** Shard lives the epoch was started with (a change means a restart: new epoch). */
  readonly shardLives: readonly string[];
  /** data.tokenizer as checked at stage start; every checkpoint of the stage records it. */
  readonly tokenizer: TokenizerIdentity;
}

export interface SaveRequest {
  readonly step: number;
  readonly stepDir: string;
}

/** Gradient task payload on the tasks queue (versioned like stage jobs). */
export interface TaskJobPayload {
  readonly version: 1;
  readonly run: string;
  readonly stage: StageName;
  readonly epoch: string;
  readonly step: number;
  readonly task: number;
  /** The parameter version the gradient is computed on: `step` unless the stage allows staleness. */
  readonly basis?: number;
}

/** What a worker returns for a task: summed into the step's progress by the coordinator. */
export interface TaskResult {
  readonly samples: number;
  /** Sum over the task's samples of each objective's per-sample loss (mean x count per micro-batch). */
  readonly lossSums: Readonly<Record<string, number>>;
  readonly skipped: Readonly<Record<string, number>>;
  readonly worker: string;
  readonly backend: string;
  readonly computeMs: number;
  /** 'stale' when the step had already been applied (a retry): nothing was counted. */
  readonly pushed: 'accepted' | 'duplicate' | 'stale';
}

export function taskJobId(run: string, stage: string, epoch: string, step: number, task: number): string {
  return `${run}.${stage}.e${epoch}.s${step}.t${task}`;
}

export async function readJson<T>(redis: Redis, key: string): Promise<T | null> {
  const v = await redis.get(key);
  return v === null ? null : (JSON.parse(v) as T);
}

export async function readShards(redis: Redis, numShards: number): Promise<Array<ShardRecord | null>> {
  if (numShards === 0) return [];
  const values = await redis.mget(...Array.from({ length: numShards }, (_, i) => psKeys.shard(i)));
  return values.map((v) => (v ? (JSON.parse(v) as ShardRecord) : null));
}

export async function hashNumbers(redis: Redis, key: string): Promise<Map<number, number>> {
  const h = await redis.hgetall(key);
  return new Map(Object.entries(h).map(([k, v]) => [Number(k), Number(v)]));
}

export async function savedFiles(redis: Redis, epoch: string, step: number): Promise<Map<number, CheckpointFile>> {
  const h = await redis.hgetall(psKeys.saved(epoch, step));
  return new Map(Object.entries(h).map(([k, v]) => [Number(k), JSON.parse(v) as CheckpointFile]));
}

/** Poll until `check` returns a value (not undefined), or throw after timeoutMs. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, opts: { intervalMs: number; timeoutMs: number; what: string; signal?: AbortSignal }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (opts.signal?.aborted) throw new Error(`${opts.what}: aborted`);
    if (Date.now() > deadline) throw new Error(`${opts.what}: timed out after ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
