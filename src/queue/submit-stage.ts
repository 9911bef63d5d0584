import type { RunConfig, StageName } from '../config/index.js';
import { canonicalJson } from '../config/index.js';
import { RunStateError } from '../errors/index.js';
import { stageJobId } from './keys.js';
import { registeredConfig, type RunRegistry, type StageRecord } from './run-registry.js';
import { STAGE_JOB_OPTIONS, type StageQueue } from './stage-queue.js';
import { STAGE_JOB_VERSION, type StageJobPayload } from './stage-job.js';

export interface SubmitRequest {
  readonly run: string;
  readonly stage: StageName;
  readonly config: RunConfig;
  readonly configHash: string;
  /** --init: start from this checkpoint instead of seeded init / the coarse stage. */
  readonly init: string | null;
  readonly now: Date;
  /** The run name came from the config hash (no --run): errors explain what that implies. */
  readonly runNameDefaulted?: boolean;
}

export type SubmitOutcome =
  /** A stage job was added to the queue. */
  | { readonly kind: 'queued'; readonly jobId: string; readonly runCreated: boolean }
  /** Fine stage registered; it is queued when the run's coarse stage completes. */
  | { readonly kind: 'waiting'; readonly jobId: string; readonly runCreated: boolean }
  /** Same run, stage and config were submitted before: nothing was added. */
  | { readonly kind: 'exists'; readonly jobId: string; readonly state: StageRecord['state'] };

/**
 * Checks that need no writes, so a refused submit leaves Redis untouched: the run's config must
 * match, a cancelled run is final, and a fine stage without --init needs the run's coarse stage.
 */
export async function checkSubmit(registry: RunRegistry, req: SubmitRequest): Promise<void> {
  const existing = await registry.get(req.run);
  if (existing && existing.cancelledAt) {
    throw new RunStateError(`run "${req.run}" was cancelled at ${existing.cancelledAt}; continue it with \`fiber resume ${req.run}\`, or submit under a new --run name`, 'fiber.run.cancelled');
  }
  if (existing && existing.configHash !== req.configHash) {
    throw new RunStateError(
      `run "${req.run}" exists with a different config (hash ${existing.configHash}; this one hashes to ${req.configHash}). ` +
      'Submit the same config to this run, or choose a new --run name', 'fiber.run.config_mismatch');
  }
  const previous = existing?.stages[req.stage];
  if (previous && (previous.init ?? null) !== req.init && !(req.stage === 'fine' && req.init === null)) {
    throw new RunStateError(`stage ${req.stage} of run "${req.run}" was submitted with --init ${previous.init ?? '(none)'}, not ${req.init ?? '(none)'}`, 'fiber.run.init_mismatch');
  }
  if (req.stage === 'fine' && req.init === null && !previous) {
    const coarse = existing?.stages.coarse;
    if (!existing || !coarse) {
      throw new RunStateError(
        `run "${req.run}" has no coarse stage to start the fine stage from; submit \`fiber pretrain --stage coarse\` with the same config first, or give --init CHECKPOINT` +
        (req.runNameDefaulted ? ' (the default run name comes from the config hash, so the fine stage must be submitted with exactly the coarse stage\'s config, data.fine included; or name the run with --run)' : ''),
        'fiber.run.no_coarse');
    }
    if (coarse.state === 'failed' || coarse.state === 'cancelled') {
      throw new RunStateError(`the coarse stage of run "${req.run}" is ${coarse.state}; the fine stage cannot start from it (give --init CHECKPOINT)`, 'fiber.run.coarse_unusable');
    }
  }
}

/** Register the run (idempotent) and add the stage job with its deterministic id. */
export async function submitStage(registry: RunRegistry, queue: StageQueue, req: SubmitRequest): Promise<SubmitOutcome> {
  await checkSubmit(registry, req);
  const jobId = stageJobId(req.run, req.stage, req.configHash);
  const registered = await registry.register(req.run, req.configHash, canonicalJson(req.config), req.now);
  if (registered.kind === 'mismatch' || registered.kind === 'cancelled') {
    // Lost a race with another submit or a cancel between check and register: re-check reports it.
    await checkSubmit(registry, req);
  }
  const runCreated = registered.kind === 'created';
  const waits = req.stage === 'fine' && req.init === null;
  const created = await registry.createStage(req.run, req.stage, {
    state: waits ? 'waiting' : 'queued', jobId, submittedAt: req.now.toISOString(), init: req.init ?? '',
  });
  if (!created) {
    const record = (await registry.get(req.run))?.stages[req.stage];
    return { kind: 'exists', jobId, state: record?.state ?? 'queued' };
  }
  if (waits) {
    await promoteWaitingStage(registry, queue, req.run);
    const state = (await registry.get(req.run))?.stages.fine?.state;
    return state === 'waiting' ? { kind: 'waiting', jobId, runCreated } : { kind: 'queued', jobId, runCreated };
  }
  await addStageJob(queue, req.run, req.stage, req.configHash, req.config, req.init, req.now);
  return { kind: 'queued', jobId, runCreated };
}

/**
 * Queue a waiting fine stage once its coarse stage has completed, starting from the coarse
 * final checkpoint. Both the submitter and the coordinator call this after writing their own
 * state; since each writes first and reads second, at least one of them sees both facts.
 * Idempotent: the job id is deterministic and the state moves with a compare-and-set.
 */
export async function promoteWaitingStage(registry: RunRegistry, queue: StageQueue, run: string): Promise<boolean> {
  const record = await registry.get(run);
  const fine = record?.stages.fine;
  const coarse = record?.stages.coarse;
  if (!record || record.cancelledAt || !fine || fine.state !== 'waiting' || coarse?.state !== 'completed' || !coarse.checkpoint) return false;
  const config = registeredConfig(record);
  await addStageJob(queue, run, 'fine', record.configHash, config, coarse.checkpoint, new Date(fine.submittedAt));
  return registry.transition(run, 'fine', ['waiting'], 'queued', { init: coarse.checkpoint });
}

/** Add a stage job under its deterministic id (submit, promotion and resume). */
export async function addStageJob(queue: StageQueue, run: string, stage: StageName, configHash: string, config: RunConfig, init: string | null, submittedAt: Date): Promise<void> {
  const payload: StageJobPayload = { version: STAGE_JOB_VERSION, run, stage, configHash, config, init, submittedAt: submittedAt.toISOString() };
  await queue.add(stage, payload, { ...STAGE_JOB_OPTIONS, jobId: stageJobId(run, stage, configHash) });
}
