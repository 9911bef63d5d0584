import { configDifferences, configHash, loadConfigFile, resolveRunConfig, type RunConfig, type StageName } from '../../config/index.js';
import { RunStateError, UsageError } from '../../errors/index.js';
import { RUN_NAME_PATTERN } from '../../queue/keys.js';
import { registeredConfig, RunRegistry, type RunRecord } from '../../queue/run-registry.js';
import { recordFromCheckpoints, restoreRun } from '../../queue/restore-run.js';
import { resumeStage } from '../../queue/resume-stage.js';
import { openStageQueue } from '../../queue/stage-queue.js';
import { latestCheckpoints } from '../../ps/run-checkpoints.js';
import { commandStore } from '../command-store.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface ResumeOptions {
  readonly stage?: StageName;
  readonly checkpoints?: string;
  readonly config?: string;
  readonly preset?: string;
  readonly set: string[];
  readonly json?: boolean;
  readonly redisUrl?: string;
}

/**
 * `fiber resume RUN`: a failed or cancelled stage continues from its latest checkpoint under the
 * same config. When Redis has lost the run, its record is rebuilt from the checkpoints first
 * (their manifests carry the config and its hash). A config that differs is refused, naming the
 * fields: resuming is continuing, not changing the run.
 */
export async function resume(run: string, opts: ResumeOptions, ctx: CliContext): Promise<void> {
  if (!RUN_NAME_PATTERN.test(run)) throw new UsageError(`run name "${run}" is not a fiber run name`, 'fiber.usage.run_name');
  const given = opts.config || opts.preset || opts.set.length > 0
    ? resolveRunConfig({ ...(opts.preset ? { preset: opts.preset } : {}), ...(opts.config ? { file: await loadConfigFile(opts.config) } : {}), sets: opts.set })
    : null;
  const now = new Date();
  const conn = await connectForCommand(ctx, opts.redisUrl);
  const queue = openStageQueue(conn.redis);
  const store = commandStore(ctx);
  try {
    const registry = new RunRegistry(conn.redis);
    let record = await registry.get(run);
    const uri = opts.checkpoints ?? given?.checkpoint.uri ?? (record ? registeredConfig(record).checkpoint.uri : undefined);
    if (!uri) {
      throw new RunStateError(`no run named "${run}" in Redis; give --checkpoints URL (the run's checkpoint.uri) or --config to restore it from its checkpoints`, 'fiber.run.unknown');
    }
    const latest = await latestCheckpoints(store, uri, run);
    let restored = false;
    if (!record) {
      const rebuilt = recordFromCheckpoints(run, latest, now);
      if (!rebuilt) throw new RunStateError(`no run named "${run}" in Redis, and no checkpoints of it under ${uri}`, 'fiber.run.unknown');
      if (given) refuseOtherConfig(run, rebuilt, given, 'its checkpoints');
      await restoreRun(registry, rebuilt, now);
      record = (await registry.get(run))!;
      restored = true;
    }
    for (const c of Object.values(latest)) {
      if (c && c.manifest.configHash !== record.configHash) {
        throw new RunStateError(`run "${run}" is registered with config ${record.configHash} but its ${c.stage} checkpoint ${c.stepDir} has ${c.manifest.configHash}: ${configDifferences(JSON.parse(record.configJson), c.manifest.config).join('; ')}`,
          'fiber.run.config_mismatch');
      }
    }
    if (given) refuseOtherConfig(run, record, given, 'the registry');
    const outcome = await resumeStage(registry, conn.redis, queue, run, opts.stage, now);
    const fromStep = latest[outcome.stage]?.manifest.step ?? null;
    ctx.log.info({ run, stage: outcome.stage, fromStep, restored }, 'resume');
    if (opts.json) {
      printJson({ run, stage: outcome.stage, outcome: 'queued', previous: outcome.previous, fromStep, jobId: outcome.jobId, configHash: record.configHash, restored, checkpoints: uri, fineWaitsAgain: outcome.fineWaitsAgain });
      return;
    }
    printLines([
      ...(restored ? [`Redis had no record of run ${run}: rebuilt it from its checkpoints under ${uri}.`] : []),
      `Resumed the ${outcome.stage} stage of run ${run} (was ${outcome.previous}): it continues from ${fromStep === null ? 'its start (no checkpoint yet)' : `its checkpoint at step ${fromStep}`}.`,
      ...(outcome.fineWaitsAgain ? ['  the fine stage waits again for the coarse stage to complete'] : []),
      `Watch it:  fiber status ${run} --watch`,
    ]);
  } finally {
    await Promise.allSettled([queue.close(), store.close()]);
    conn.redis.disconnect();
  }
}

function refuseOtherConfig(run: string, record: RunRecord, given: RunConfig, where: string): void {
  const hash = configHash(given);
  if (hash === record.configHash) return;
  const diff = configDifferences(JSON.parse(record.configJson), given);
  throw new RunStateError(`run "${run}" has config ${record.configHash} in ${where}; the config given hashes to ${hash}. It differs in ${diff.join('; ')}. ` +
    'A resumed stage keeps its config: drop the flags, or submit the new config under a new --run name', 'fiber.run.config_mismatch', 'usage', { differences: diff });
}
