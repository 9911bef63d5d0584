import { setTimeout as sleep } from 'node:timers/promises';
import { RunStateError } from '../../errors/index.js';
import { collectStatus, type StatusSources } from '../../queue/collect-status.js';
import { RunRegistry, TERMINAL_STATES } from '../../queue/run-registry.js';
import { openStageQueue, openTaskQueue } from '../../queue/stage-queue.js';
import type { StatusReport } from '../../queue/status-report.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson } from '../output.js';
import { renderStatus } from '../render-status.js';
import { colorEnabled, isInteractive } from '../terminal.js';
import { readLeaseHolder } from '../../ps/coordinator-lease.js';

export interface StatusOptions {
  readonly json?: boolean;
  readonly watch?: boolean;
  readonly interval: number;
  readonly redisUrl?: string;
}

export async function status(run: string | undefined, opts: StatusOptions, ctx: CliContext): Promise<void> {
  const conn = await connectForCommand(ctx, opts.redisUrl);
  const stageQueue = openStageQueue(conn.redis, true);
  const taskQueue = openTaskQueue(conn.redis, true);
  const sources: StatusSources = { registry: new RunRegistry(conn.redis), stageQueue, taskQueue, redis: { url: conn.url, version: conn.check.version }, coordinator: () => readLeaseHolder(conn.redis) };
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const tty = isInteractive(process.stdout) && !opts.json;
    const color = colorEnabled(process.stdout) && !opts.json;
    for (;;) {
      const report = await collectStatus(sources, run, new Date());
      if (run && report.runs.length === 0) throw new RunStateError(`no run named "${run}"; \`fiber status\` lists the runs`, 'fiber.run.unknown');
      // --watch --json: NDJSON, one compact object per line per refresh, for `jq` or a log shipper.
      if (opts.json && opts.watch) process.stdout.write(`${JSON.stringify(report)}\n`);
      else if (opts.json) printJson(report);
      else if (tty && opts.watch) process.stdout.write(`\x1b[H\x1b[2J${renderStatus(report, { color })}\n`);
      else process.stdout.write(`${renderStatus(report, { color })}\n`);
      if (!opts.watch || finished(report, run) || stop.signal.aborted) return;
      try {
        await sleep(opts.interval * 1000, undefined, { signal: stop.signal });
      } catch {
        return; // Ctrl-C while waiting: a normal way to stop watching.
      }
      if (!tty && !opts.json) process.stdout.write('\n');
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled([stageQueue.close(), taskQueue.close()]);
    conn.redis.disconnect();
  }
}

/** Watching one run ends when every stage it has is done (a waiting fine stage is not). */
function finished(report: StatusReport, run: string | undefined): boolean {
  const r = run ? report.runs[0] : undefined;
  return r !== undefined && r.stages.length > 0 && r.stages.every((s) => TERMINAL_STATES.has(s.state));
}
