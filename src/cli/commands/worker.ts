import { hostname } from 'node:os';
import { UsageError } from '../../errors/index.js';
import { connectRedis, redisConfigFromEnv } from '../../queue/redis-connection.js';
import { TaskWorker } from '../../worker/task-worker.js';
import { startServiceOps } from '../../ops/service-ops.js';
import { FIBER_VERSION } from '../program.js';
import type { CliContext } from '../context.js';
import { untilSignal } from '../signals.js';

export interface WorkerOptions {
  readonly id?: string;
  readonly lockMs: number;
  readonly metricsPort?: number;
  readonly redisUrl?: string;
}

export async function worker(opts: WorkerOptions, ctx: CliContext): Promise<void> {
  const token = ctx.env.FIBER_PS_TOKEN;
  if (!token || token.length < 16) throw new UsageError('FIBER_PS_TOKEN must be set to the parameter servers\' shared secret (at least 16 characters)', 'fiber.usage.ps_token');
  const id = opts.id ?? `${hostname()}-${process.pid}`;
  const log = ctx.log.child({ process: 'worker', worker: id });
  const redisConfig = { ...redisConfigFromEnv(ctx.env, opts.redisUrl), connectTimeoutMs: 5000, reconnect: true };
  const { redis } = await connectRedis(redisConfig, log);
  const { redis: workerRedis } = await connectRedis(redisConfig, log);
  const w = new TaskWorker({ id, token, redis, workerRedis, log, lockDurationMs: opts.lockMs, stalledIntervalMs: Math.max(1000, Math.floor(opts.lockMs / 2)) });
  const ops = await startServiceOps({
    process: 'worker', env: ctx.env, ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}), labels: { worker: id },
    isReady: () => (redis.status === 'ready' ? true : { ready: false, reason: `redis ${redis.status}` }), version: FIBER_VERSION, log,
  });
  w.onHeartbeat = () => ops.heartbeat();
  w.onTaskDone = (stage, seconds, outcome, skipped) => {
    ops.metrics.taskDuration.observe({ stage, outcome }, seconds);
    for (const [reason, n] of Object.entries(skipped)) if (n > 0) ops.metrics.skippedSamples.inc({ stage, reason }, n);
  };
  w.onEvalDone = (run, stage, task, scores) => ops.metrics.recordEval(run, stage, task, scores);
  try {
    w.start();
    log.info({ lockMs: opts.lockMs, metricsPort: ops.health.port }, 'worker started');
    const signal = await untilSignal();
    log.warn({ signal }, 'draining: finishing the task in hand');
  } finally {
    await w.close();
    await ops.close();
    workerRedis.disconnect();
    redis.disconnect();
  }
}
