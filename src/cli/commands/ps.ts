import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { createObjectStore } from '../../storage/object-store.js';
import { DEFAULT_RETRY } from '../../storage/retry.js';
import { s3ConfigFromEnv } from '../../storage/s3-config.js';
import { UsageError } from '../../errors/index.js';
import { Coordinator } from '../../ps/coordinator.js';
import { ShardProcess } from '../../ps/shard-process.js';
import { connectRedis, redisConfigFromEnv } from '../../queue/redis-connection.js';
import { startServiceOps, type ServiceOps } from '../../ops/service-ops.js';
import type { FiberMetrics } from '../../ops/metrics.js';
import type { Logger } from '../../log/logger.js';
import { RunRegistry } from '../../queue/run-registry.js';
import { WORKER_LOST_MS } from '../../queue/collect-status.js';
import { FIBER_VERSION } from '../program.js';
import type { CliContext } from '../context.js';
import { untilSignal } from '../signals.js';

export interface PsOptions {
  readonly shard?: number;
  readonly shards: number;
  readonly port: number;
  readonly bind: string;
  readonly advertiseHost?: string;
  readonly metricsPort?: number;
  readonly redisUrl?: string;
}

/** Seconds a preempted shard waits for its checkpoint (k8s terminationGracePeriodSeconds is longer). */
const PREEMPT_WAIT_MS = 240_000;

export async function ps(opts: PsOptions, ctx: CliContext): Promise<void> {
  const shard = opts.shard ?? ordinalFromHostname(ctx.env.HOSTNAME ?? hostname());
  if (shard === undefined) throw new UsageError('--shard is not set and the hostname ends in no pod ordinal; pass --shard i or set FIBER_PS_SHARD', 'fiber.usage.shard');
  if (shard >= opts.shards) throw new UsageError(`--shard ${shard} is outside 0..${opts.shards - 1} (--shards ${opts.shards})`, 'fiber.usage.shard');
  const token = ctx.env.FIBER_PS_TOKEN;
  if (!token || token.length < 16) throw new UsageError('FIBER_PS_TOKEN must be set to a shared secret of at least 16 characters (the same for every shard and worker)', 'fiber.usage.ps_token');
  const log = ctx.log.child({ process: 'ps', shard });
  const redisConfig = { ...redisConfigFromEnv(ctx.env, opts.redisUrl), connectTimeoutMs: 5000, reconnect: true };
  const { redis } = await connectRedis(redisConfig, log);
  const store = createObjectStore({ s3: s3ConfigFromEnv(ctx.env), retry: DEFAULT_RETRY });
  let ops: ServiceOps | null = null;
  let reported = { push: 0, pull: 0 };
  const proc = new ShardProcess({
    shard, numShards: opts.shards, token, bindHost: opts.bind, advertiseHost: opts.advertiseHost ?? hostname(), port: opts.port, redis, store, log,
    onTick: () => {
      if (!ops) return;
      ops.heartbeat();
      const label = { shard: String(shard) };
      ops.metrics.pushBytes.inc(label, proc.stats.pushBytes - reported.push);
      ops.metrics.pullBytes.inc(label, proc.stats.pullBytes - reported.pull);
      reported = { push: proc.stats.pushBytes, pull: proc.stats.pullBytes };
    },
  });
  let coordinator: Coordinator | null = null;
  let stopSampling = () => {};
  let workerRedis: Redis | null = null;
  try {
    await proc.start();
    ops = await startServiceOps({
      process: 'ps', env: ctx.env, ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}), labels: { shard: String(shard) },
      isReady: () => (redis.status === 'ready' ? true : { ready: false, reason: `redis ${redis.status}` }), version: FIBER_VERSION, log,
    });
    log.info({ metricsPort: ops.health.port }, 'health and metrics serving');
    if (shard === 0) {
      workerRedis = (await connectRedis(redisConfig, log)).redis;
      const metrics = ops.metrics;
      coordinator = new Coordinator({
        numShards: opts.shards, redis, workerRedis, store, log: log.child({ role: 'coordinator' }),
        onStep: (r) => {
          metrics.recordTrainingStep({ ...r, time: { ...r.time } });
          metrics.observeStep(r.stage, { durationSeconds: r.time.wall, samples: r.samples });
        },
      });
      coordinator.start();
      stopSampling = sampleWorkers(redis, metrics, log);
      log.info('coordinating stages');
    }
    const signal = await untilSignal();
    log.warn({ signal }, 'stopping');
    if (signal === 'SIGTERM') await proc.preempt(PREEMPT_WAIT_MS);
  } finally {
    stopSampling();
    await ops?.close();
    await coordinator?.close();
    await proc.close();
    await store.close();
    workerRedis?.disconnect();
    redis.disconnect();
  }
}

/** Shard 0 keeps `fiber_workers` current from the workers' heartbeats, for the workers-lost alert. */
function sampleWorkers(redis: Redis, metrics: FiberMetrics, log: Logger): () => void {
  const registry = new RunRegistry(redis);
  const timer = setInterval(() => {
    registry.workers().then((ws) => {
      const now = Date.now();
      const byState: Record<string, number> = {};
      for (const w of ws) {
        const state = now - Date.parse(w.lastHeartbeat) > WORKER_LOST_MS && w.state !== 'stopped' ? 'lost' : w.state;
        byState[state] = (byState[state] ?? 0) + 1;
      }
      metrics.setWorkers(byState);
    }, (err: Error) => log.debug({ err: err.message }, 'sampling workers failed'));
  }, 5000);
  timer.unref();
  return () => clearInterval(timer);
}

/** `fiber-ps-2` -> 2: a StatefulSet pod's ordinal is its shard. */
export function ordinalFromHostname(name: string): number | undefined {
  const m = /-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
