import { RunRegistry } from '../../queue/run-registry.js';
import { openStageQueue } from '../../queue/stage-queue.js';
import { cancelRun } from '../../queue/cancel-run.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface CancelOptions {
  readonly json?: boolean;
  readonly redisUrl?: string;
}

export async function cancel(run: string, opts: CancelOptions, ctx: CliContext): Promise<void> {
  const conn = await connectForCommand(ctx, opts.redisUrl);
  const queue = openStageQueue(conn.redis);
  try {
    const outcome = await cancelRun(new RunRegistry(conn.redis), queue, run, new Date());
    ctx.log.info({ run, ...outcome }, 'cancel');
    if (opts.json) {
      printJson({ run, ...outcome });
      return;
    }
    const lines = outcome.alreadyCancelled && outcome.stages.length === 0
      ? [`Run ${run} was already cancelled; nothing changed.`]
      : [`Cancelled run ${run}.`, ...outcome.stages.map((s) => `  ${s.stage}: ${s.from} -> ${s.to === 'cancel-requested' ? 'stops at the next step boundary' : s.to}`)];
    if (outcome.removedJobs.length > 0) lines.push(`  removed ${outcome.removedJobs.length} queued job(s)`);
    printLines(lines);
  } finally {
    await queue.close();
    conn.redis.disconnect();
  }
}
