import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX, STAGES_QUEUE, TASKS_QUEUE } from './keys.js';
import type { StageJobPayload } from './stage-job.js';

/**
 * Stage jobs are long and precious: keep them after completion and failure (the status and the
 * fine stage read them), and retry a crashed coordinator's stage with backoff; the coordinator
 * resumes from the latest checkpoint, so a retry loses at most K steps.
 */
export const STAGE_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: false,
  removeOnFail: false,
};

export type StageQueue = Queue<StageJobPayload>;

/** `readOnly` (status) skips BullMQ's meta write on open, so looking never changes Redis. */
export function openStageQueue(connection: Redis, readOnly = false): StageQueue {
  return new Queue<StageJobPayload>(STAGES_QUEUE, { connection, prefix: QUEUE_PREFIX, skipMetasUpdate: readOnly });
}

/** Only for counts in `fiber status`; the coordinator owns adding to it (issue 5). */
export function openTaskQueue(connection: Redis, readOnly = false): Queue {
  return new Queue(TASKS_QUEUE, { connection, prefix: QUEUE_PREFIX, skipMetasUpdate: readOnly });
}
