import type { StageName } from '../config/index.js';

/**
 * Every Redis key and queue name fiber uses, in one place. BullMQ keys live under
 * `fiber:<queue>:*` (its prefix option); the run registry under `fiber:registry:*`.
 */
export const QUEUE_PREFIX = 'fiber';
/** Stage jobs: one per (run, stage), taken by the coordinator (PS shard 0). */
export const STAGES_QUEUE = 'stages';
/** Gradient tasks: T per step, taken by workers (issue 5). */
export const TASKS_QUEUE = 'tasks';

export const registryKeys = {
  /** ZSET run name -> created time (ms): lists runs newest first. */
  runs: 'fiber:registry:runs',
  /** HASH of one run: name, configHash, config (JSON), createdAt, cancelledAt. */
  run: (run: string) => `fiber:registry:run:${run}`,
  /** HASH of one stage: state, jobId, timestamps, init/final checkpoint, progress fields. */
  stage: (run: string, stage: StageName) => `fiber:registry:run:${run}:stage:${stage}`,
} as const;

/**
 * LIST of one JSON line per optimizer step, appended by the coordinator and read by `fiber report`:
 * `{ step, t (ms epoch), seconds, samples, losses: { objective: number | null }, lr, delivery }`;
 * `delivery` is what the step consumed: `[{ epoch, start, end, ids }]` (ps/delivery-ledger.ts).
 */
export function metricsKey(run: string, stage: StageName): string {
  return `fiber:metrics:${run}:${stage}`;
}

/**
 * LIST of one JSON line per evaluation, read by `fiber report`:
 * `{ step, t (ms epoch), task: 'retrieval' | 'grounding' | ..., scores: { name: number }, n }`.
 */
export function evalsKey(run: string, stage: StageName): string {
  return `fiber:evals:${run}:${stage}`;
}

/** HASH worker id -> heartbeat record (JSON), written by every `fiber worker` every 2 s. */
export const WORKERS_KEY = 'fiber:workers';

/** Run names are DNS-label-like so they fit in k8s labels, S3 prefixes and BullMQ job ids. */
export const RUN_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Deterministic stage job id (no ':' — BullMQ reserves it): a repeated submit adds nothing. */
export function stageJobId(run: string, stage: StageName, configHash: string): string {
  return `${run}.${stage}.${configHash}`;
}

/** The parameter server's control records (ps-control.ts describes each). */
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
  /** The coordinator lease (JSON: token, host, pid, shards, since), with a TTL; ps/coordinator-lease.ts. */
  coordinatorLease: 'fiber:ps:coordinator:lease',
  /** Fencing tokens: INCR'd once per lease taken, so a newer holder always has a larger one. */
  coordinatorToken: 'fiber:ps:coordinator:token',
} as const;

/** LIST of a run's recent problems, newest first, capped (run-errors.ts). */
export const errorsKey = (run: string) => `fiber:errors:${run}`;
