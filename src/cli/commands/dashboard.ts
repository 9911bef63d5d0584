import { redactUrl } from '../../log/redact.js';
import type { StatusSources } from '../../queue/collect-status.js';
import { connectRedis, redisConfigFromEnv } from '../../queue/redis-connection.js';
import { RunRegistry } from '../../queue/run-registry.js';
import { openStageQueue, openTaskQueue } from '../../queue/stage-queue.js';
import { startDashboardServer } from '../../report/dashboard-server.js';
import { collectDashboardView } from '../../report/dashboard-view.js';
import type { CliContext } from '../context.js';
import { untilSignal } from '../signals.js';
import { readLeaseHolder } from '../../ps/coordinator-lease.js';

export interface DashboardOptions {
  readonly port: number;
  readonly host: string;
  readonly interval: number;
  readonly redisUrl?: string;
}

/** Serves the dashboard until Ctrl-C; reads Redis only, like `fiber status`. */
export async function dashboard(opts: DashboardOptions, ctx: CliContext): Promise<void> {
  const { url, password } = redisConfigFromEnv(ctx.env, opts.redisUrl);
  // A long-lived reader: ride out a Redis restart instead of exiting (the page says it cannot read meanwhile).
  const { redis, check } = await connectRedis({ url, ...(password ? { password } : {}), connectTimeoutMs: 5000, reconnect: true }, ctx.log);
  const stageQueue = openStageQueue(redis, true);
  const taskQueue = openTaskQueue(redis, true);
  const sources: StatusSources = { registry: new RunRegistry(redis), stageQueue, taskQueue, redis: { url: redactUrl(url), version: check.version }, coordinator: () => readLeaseHolder(redis) };
  try {
    const server = await startDashboardServer({
      host: opts.host, port: opts.port, refreshMs: opts.interval * 1000, log: ctx.log,
      view: (run) => collectDashboardView(redis, sources, run, new Date()),
    });
    process.stdout.write(`fiber dashboard: ${server.url} (Ctrl-C to stop)\n`);
    await untilSignal();
    await server.close();
  } finally {
    await Promise.allSettled([stageQueue.close(), taskQueue.close()]);
    redis.disconnect();
  }
}
