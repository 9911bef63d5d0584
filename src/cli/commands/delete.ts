import { STAGE_NAMES } from '../../config/index.js';
import { RunStateError } from '../../errors/index.js';
import { checkDeletable, deleteRunRecords, type DeleteRedisOutcome } from '../../queue/delete-run.js';
import { RUN_NAME_PATTERN } from '../../queue/keys.js';
import { registeredConfig, RunRegistry } from '../../queue/run-registry.js';
import { openStageQueue } from '../../queue/stage-queue.js';
import { stageDir } from '../../ps/checkpoint-layout.js';
import { joinUrl } from '../../storage/url.js';
import { commandStore } from '../command-store.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface DeleteOptions {
  readonly checkpoints?: boolean;
  readonly checkpointUri?: string;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly redisUrl?: string;
}

/**
 * Remove a run's Redis records; with --checkpoints also its checkpoint objects (and the history
 * beside them). A queued or running run is refused unless --force: cancel it first.
 */
export async function deleteRun(run: string, opts: DeleteOptions, ctx: CliContext): Promise<void> {
  if (!RUN_NAME_PATTERN.test(run)) throw new RunStateError(`"${run}" is not a fiber run name`, 'fiber.usage.run_name');
  const conn = await connectForCommand(ctx, opts.redisUrl);
  const queue = openStageQueue(conn.redis);
  const store = commandStore(ctx);
  try {
    const record = await new RunRegistry(conn.redis).get(run);
    if (!record && !(opts.checkpoints && opts.checkpointUri)) {
      throw new RunStateError(`no run named "${run}" in Redis${opts.checkpoints ? '; give --checkpoint-uri URL to delete its checkpoints without it' : ''}`, 'fiber.run.unknown');
    }
    if (record) checkDeletable(record, Boolean(opts.force));
    const uri = opts.checkpointUri ?? (record ? registeredConfig(record).checkpoint.uri : null);
    let removedCheckpoints: string | null = null;
    if (opts.checkpoints && uri) {
      // Stage directories first: what the layout owns; then the run prefix if nothing else is left in it.
      for (const s of STAGE_NAMES) await store.remove(stageDir(uri, run, s));
      if ((await store.list(joinUrl(uri, run))).length === 0) await store.remove(joinUrl(uri, run));
      removedCheckpoints = joinUrl(uri, run);
    }
    const redis: DeleteRedisOutcome = record ? await deleteRunRecords(conn.redis, queue, record) : { removedKeys: 0, removedJobs: [] };
    ctx.log.info({ run, ...redis, removedCheckpoints }, 'delete');
    if (opts.json) {
      printJson({ run, removedKeys: redis.removedKeys, removedJobs: redis.removedJobs, removedCheckpoints });
      return;
    }
    printLines([
      record ? `Deleted run ${run} from Redis (${redis.removedKeys} key(s), ${redis.removedJobs.length} stage job(s)).` : `Run ${run} was not in Redis.`,
      removedCheckpoints ? `  removed its checkpoints and history under ${removedCheckpoints}` : uri ? `  its checkpoints under ${joinUrl(uri, run)} are kept (--checkpoints removes them)` : '',
    ].filter(Boolean));
  } finally {
    await Promise.allSettled([queue.close(), store.close()]);
    conn.redis.disconnect();
  }
}
