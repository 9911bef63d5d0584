import { canonicalJson, parseStoredRunConfig, STAGE_NAMES, configDifferences, type StageName } from '../config/index.js';
import { RunStateError } from '../errors/index.js';
import { stageJobId } from './keys.js';
import type { RunRecord, RunRegistry, StageRecord } from './run-registry.js';

/** What the registry needs of a stage's newest checkpoint manifest (src/ps/checkpoint-layout.ts). */
export interface CheckpointFacts {
  readonly stepDir: string;
  readonly manifest: {
    readonly step: number;
    readonly configHash: string;
    readonly config: unknown;
    readonly init: string | null;
    readonly model: unknown;
    readonly createdAt: string;
  };
}

/**
 * A run's registry record as its checkpoints describe it, for when Redis has lost the run: the
 * config and its hash come from the manifests (they must agree), a stage whose newest checkpoint
 * is its final one is completed, any other stage is `failed` (its coordinator is gone; `fiber
 * resume` continues it from that checkpoint). Null when no stage has a checkpoint.
 */
export function recordFromCheckpoints(run: string, latest: Partial<Record<StageName, CheckpointFacts>>, now: Date): RunRecord | null {
  const found = STAGE_NAMES.flatMap((s) => (latest[s] ? [[s, latest[s]!] as const] : []));
  if (found.length === 0) return null;
  const [, first] = found[0]!;
  for (const [stage, c] of found) {
    if (c.manifest.configHash !== first.manifest.configHash) {
      throw new RunStateError(`the checkpoints of run "${run}" disagree on the config: ${found[0]![0]} has ${first.manifest.configHash}, ${stage} has ${c.manifest.configHash} (${configDifferences(first.manifest.config, c.manifest.config).join('; ')})`,
        'fiber.run.config_mismatch');
    }
  }
  const config = parseStoredRunConfig(first.manifest.config);
  const stages: Partial<Record<StageName, StageRecord>> = {};
  for (const [stage, c] of found) {
    const total = config.optimizer[stage].totalSteps;
    const done = c.manifest.model !== null && c.manifest.step >= total;
    stages[stage] = {
      stage, state: done ? 'completed' : 'failed', jobId: stageJobId(run, stage, first.manifest.configHash),
      submittedAt: c.manifest.createdAt, startedAt: null, finishedAt: done ? c.manifest.createdAt : null,
      init: c.manifest.init, checkpoint: done ? c.stepDir : null,
      error: done ? null : `not known to Redis: read from its checkpoints, the newest at step ${c.manifest.step} of ${total}`,
      cancelRequestedAt: null, fields: { step: String(c.manifest.step) },
    };
  }
  return { name: run, configHash: first.manifest.configHash, configJson: canonicalJson(config), createdAt: now.toISOString(), cancelledAt: null, stages };
}

/** Write a rebuilt record into the registry (run, then each stage); nothing is overwritten. */
export async function restoreRun(registry: RunRegistry, record: RunRecord, now: Date): Promise<void> {
  const registered = await registry.register(record.name, record.configHash, record.configJson, now);
  if (registered.kind === 'mismatch') {
    throw new RunStateError(`run "${record.name}" appeared in Redis with another config (hash ${registered.existingHash}) while it was being restored`, 'fiber.run.config_mismatch');
  }
  for (const s of Object.values(record.stages)) {
    if (!s) continue;
    await registry.createStage(record.name, s.stage, {
      state: s.state, jobId: s.jobId, submittedAt: s.submittedAt, init: s.init ?? '', ...(s.checkpoint ? { checkpoint: s.checkpoint } : {}),
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}), ...(s.error ? { error: s.error } : {}), ...s.fields,
    });
  }
}
