import { STAGE_NAMES, type StageName } from '../config/index.js';
import { RunStateError } from '../errors/index.js';
import { registryKeys } from './keys.js';
import { registeredConfig, type RunRegistry, type StageState } from './run-registry.js';
import type { StageQueue } from './stage-queue.js';
import { addStageJob } from './submit-stage.js';
import type { Redis } from 'ioredis';

const RESUMABLE: readonly StageState[] = ['failed', 'cancelled'];

export interface ResumeOutcome {
  readonly run: string;
  readonly stage: StageName;
  readonly previous: StageState;
  readonly jobId: string;
  /** The old stage job (failed, or completed by a cancel) was removed to queue it again. */
  readonly replacedJob: boolean;
  /** A fine stage cancelled before it started goes back to waiting for the coarse stage. */
  readonly fineWaitsAgain: boolean;
}

/**
 * Queue a failed or cancelled stage again under the same run, config hash and job id. The
 * coordinator resumes any stage from its latest checkpoint, so this only has to undo the terminal
 * state: lift the run's cancel mark, move the stage back to `queued` and re-add its job (BullMQ
 * keeps the old one, failed or completed, under the same id: it is removed first).
 */
export async function resumeStage(registry: RunRegistry, redis: Redis, queue: StageQueue, run: string, wanted: StageName | undefined, now: Date): Promise<ResumeOutcome> {
  const record = await registry.get(run);
  if (!record) throw new RunStateError(`no run named "${run}"; \`fiber runs\` lists the runs (give --checkpoints URL if Redis lost it)`, 'fiber.run.unknown');
  const stage = wanted ?? STAGE_NAMES.find((s) => record.stages[s] && RESUMABLE.includes(record.stages[s]!.state));
  const s = stage ? record.stages[stage] : undefined;
  if (!stage || !s) {
    const states = STAGE_NAMES.flatMap((x) => (record.stages[x] ? [`${x} ${record.stages[x]!.state}`] : [])).join(', ') || 'no stages';
    throw new RunStateError(`run "${run}" has no ${wanted ? `${wanted} stage` : 'failed or cancelled stage'} to resume (${states})`, 'fiber.run.not_resumable');
  }
  if (!RESUMABLE.includes(s.state)) {
    throw new RunStateError(`the ${stage} stage of run "${run}" is ${s.state}; only a failed or cancelled stage can be resumed`, 'fiber.run.not_resumable');
  }
  if (stage === 'fine' && s.state === 'cancelled' && !s.startedAt && !s.init && record.stages.coarse?.state !== 'completed') {
    throw new RunStateError(`the fine stage of run "${run}" never started and its coarse stage is ${record.stages.coarse?.state ?? 'absent'}: resume the coarse stage`, 'fiber.run.not_resumable');
  }
  const config = registeredConfig(record);
  const job = await queue.getJob(s.jobId);
  let replacedJob = false;
  if (job) {
    const state = await job.getState();
    if (state === 'active') {
      throw new RunStateError(`the ${stage} stage job of run "${run}" is still held by a coordinator; wait until \`fiber status ${run}\` shows it stopped`, 'fiber.run.busy', 'unavailable');
    }
    await job.remove();
    replacedJob = true;
  }
  // The run-level mark is what a coordinator checks each step: lift it before the job can start.
  await redis.hdel(registryKeys.run(run), 'cancelledAt');
  const moved = await registry.transition(run, stage, RESUMABLE, 'queued', { error: '', finishedAt: '', cancelRequestedAt: '', resumedAt: now.toISOString() });
  if (!moved) throw new RunStateError(`the ${stage} stage of run "${run}" changed state while resuming; look at \`fiber status ${run}\``, 'fiber.run.busy', 'unavailable');
  let fineWaitsAgain = false;
  const fine = record.stages.fine;
  if (stage === 'coarse' && fine && fine.state === 'cancelled' && !fine.startedAt) {
    fineWaitsAgain = await registry.transition(run, 'fine', ['cancelled'], 'waiting', { finishedAt: '', cancelRequestedAt: '', init: '' });
  }
  const init = stage === 'fine' && !s.init ? record.stages.coarse?.checkpoint ?? null : s.init;
  await addStageJob(queue, run, stage, record.configHash, config, init, now);
  return { run, stage, previous: s.state, jobId: s.jobId, replacedJob, fineWaitsAgain };
}
