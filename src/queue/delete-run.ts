import type { Redis } from 'ioredis';
import { STAGE_NAMES } from '../config/index.js';
import { RunStateError } from '../errors/index.js';
import { errorsKey, evalsKey, metricsKey, psKeys, registryKeys } from './keys.js';
import type { RunRecord } from './run-registry.js';
import type { StageQueue } from './stage-queue.js';

export interface DeleteRedisOutcome {
  readonly removedKeys: number;
  readonly removedJobs: readonly string[];
}

/** A run with a queued or running stage is refused unless forced: its coordinator would lose its registry mid-way. */
export function checkDeletable(record: RunRecord, force: boolean): void {
  const live = STAGE_NAMES.filter((s) => record.stages[s]?.state === 'running' || record.stages[s]?.state === 'queued');
  if (live.length > 0 && !force) {
    throw new RunStateError(
      `run "${record.name}" has a ${live.map((s) => `${s} stage ${record.stages[s]!.state}`).join(' and a ')}; ` +
      `\`fiber cancel ${record.name}\` first and wait until it stops, or give --force`, 'fiber.run.running');
  }
}

/**
 * Remove everything Redis holds about a run: its registry hashes and its place in the runs list,
 * its metrics, evals and errors lists, its stage jobs and its epoch counters. Gradient tasks are
 * left to their own expiry (an hour after completion). Checkpoints are storage's business.
 */
export async function deleteRunRecords(redis: Redis, queue: StageQueue, record: RunRecord): Promise<DeleteRedisOutcome> {
  const run = record.name;
  const removedJobs: string[] = [];
  for (const s of Object.values(record.stages)) {
    if (!s) continue;
    const job = await queue.getJob(s.jobId);
    if (!job) continue;
    // An active job's lock belongs to a coordinator (only reachable with --force): leave it to fail.
    if ((await job.getState()) === 'active') continue;
    await job.remove();
    removedJobs.push(s.jobId);
  }
  const keys = [
    registryKeys.run(run),
    ...STAGE_NAMES.flatMap((s) => [registryKeys.stage(run, s), metricsKey(run, s), evalsKey(run, s), psKeys.epochCounter(run, s)]),
    errorsKey(run),
  ];
  const [[, removed]] = (await redis.multi().del(...keys).zrem(registryKeys.runs, run).exec()) as [[null, number], [null, number]];
  return { removedKeys: removed, removedJobs };
}
