import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { StageName } from '../config/index.js';
import { registryKeys } from '../queue/keys.js';
import { STEP_TIME_CAUSES, type StepTime } from '../queue/step-time.js';
import type { TaskResult } from '../queue/task-job.js';
import type { TaskTiming } from './split-step-time.js';

/**
 * A finished task job's timings for the goodput split, from the worker's own (TaskResult.timings)
 * and BullMQ's record of its attempts. A task whose last attempt is not its first (a failed or
 * stalled one before it) lost everything from the step's start to that attempt.
 */
export function taskTiming(job: Pick<Job, 'attemptsMade' | 'processedOn'> & { attemptsStarted?: number }, r: TaskResult, stepStartedAt: number): TaskTiming {
  const t = r.timings;
  // BullMQ counts starts (attemptsStarted, also after a stall) and finishes (attemptsMade, a
  // success included): more than one of either means an earlier attempt was lost.
  const retried = (job.attemptsStarted ?? 0) > 1 || job.attemptsMade > 1;
  const failedMs = retried && job.processedOn ? Math.max(0, job.processedOn - stepStartedAt) : 0;
  if (!t) return { worker: r.worker, pullMs: 0, dataMs: 0, computeMs: r.computeMs, pushMs: 0, otherMs: 0, failedMs };
  const otherMs = Math.max(0, t.totalMs - t.pullMs - t.dataMs - t.computeMs - t.pushMs);
  return { worker: r.worker, pullMs: t.pullMs, dataMs: t.dataMs, computeMs: t.computeMs, pushMs: t.pushMs, otherMs, failedMs };
}

/** Stage totals of the breakdown (`time.<cause>`, `time.wall` seconds) in the registry, for status. */
export function addStageTime(m: ReturnType<Redis['multi']>, run: string, stage: StageName, time: StepTime): void {
  const key = registryKeys.stage(run, stage);
  m.hincrbyfloat(key, 'time.wall', time.wall);
  for (const c of STEP_TIME_CAUSES) if (time[c] > 0) m.hincrbyfloat(key, `time.${c}`, time[c]);
}
