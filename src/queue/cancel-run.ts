import { RunStateError } from '../errors/index.js';
import type { StageName } from '../config/index.js';
import type { RunRegistry, StageState } from './run-registry.js';
import type { StageQueue } from './stage-queue.js';

export interface CancelOutcome {
  readonly alreadyCancelled: boolean;
  /** What happened to each submitted stage. */
  readonly stages: ReadonlyArray<{ readonly stage: StageName; readonly from: StageState; readonly to: StageState | 'cancel-requested' }>;
  readonly removedJobs: readonly string[];
}

/**
 * Mark the run cancelled, remove its stage jobs that no one has taken yet, and flag running
 * stages so their coordinator stops at the next step boundary (it checks the run's cancelledAt).
 * Idempotent: a second cancel changes nothing and says so.
 */
export async function cancelRun(registry: RunRegistry, queue: StageQueue, run: string, now: Date): Promise<CancelOutcome> {
  const record = await registry.get(run);
  if (!record) throw new RunStateError(`no run named "${run}"; \`fiber status\` lists the runs`, 'fiber.run.unknown');
  const alreadyCancelled = !(await registry.markCancelled(run, now));
  const stages: Array<CancelOutcome['stages'][number]> = [];
  const removedJobs: string[] = [];
  for (const s of Object.values(record.stages)) {
    if (!s) continue;
    if (s.state === 'waiting' || s.state === 'queued') {
      const job = await queue.getJob(s.jobId);
      if (job && (await job.isActive())) {
        // The coordinator took it between our read and now: treat as running.
        await registry.updateStage(run, s.stage, { cancelRequestedAt: now.toISOString() });
        stages.push({ stage: s.stage, from: s.state, to: 'cancel-requested' });
        continue;
      }
      if (job) {
        await job.remove();
        removedJobs.push(s.jobId);
      }
      const moved = await registry.transition(run, s.stage, ['waiting', 'queued'], 'cancelled', { finishedAt: now.toISOString() });
      if (moved) stages.push({ stage: s.stage, from: s.state, to: 'cancelled' });
    } else if (s.state === 'running' && !s.cancelRequestedAt) {
      await registry.updateStage(run, s.stage, { cancelRequestedAt: now.toISOString() });
      stages.push({ stage: s.stage, from: s.state, to: 'cancel-requested' });
    }
  }
  return { alreadyCancelled, stages, removedJobs };
}
