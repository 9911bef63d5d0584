import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { createObjectStore } from '../../storage/object-store.js';
import { DEFAULT_RETRY } from '../../storage/retry.js';
import { s3ConfigFromEnv } from '../../storage/s3-config.js';
import { UsageError } from '../../errors/index.js';
import { Coordinator } from '../../ps/coordinator.js';
import { CoordinatorLease, LeaseLostError } from '../../ps/coordinator-lease.js';
import { takeCoordinatorLease } from '../../ps/coordinator-standby.js';
import { RepeatLimiter } from '../../log/repeat-limiter.js';
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
import { waitForShardSlot } from '../../ps/shard-slot.js';

export interface PsOptions {
  readonly shard?: number;
  readonly shards: number;
  readonly port: number;
  readonly bind: string;
  readonly advertiseHost?: string;
  readonly metricsPort?: number;
  readonly redisUrl?: string;
  /** Shard 0: the coordinator lease's TTL, seconds. @defaultValue 30 */
  readonly leaseTtl?: number;
  /** Shard 0: seconds to stand by behind a coordinator with another --shards before exiting 2. @defaultValue 120 */
  readonly standbyGrace?: number;
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
  let standby = true;
  const lease = shard === 0 ? new CoordinatorLease(redis, { host: opts.advertiseHost ?? hostname(), pid: process.pid, shards: opts.shards, ttlMs: (opts.leaseTtl ?? 30) * 1000 }) : null;
  let renewTimer: NodeJS.Timeout | undefined;
  // A standby never listened nor registered: closing it must not delete the holder's shard record.
  let started = false;
  const stopped = new AbortController();
  const signalled = untilSignal().then((s) => { stopped.abort(); return s; });
  try {
    ops = await startServiceOps({
      process: 'ps', env: ctx.env, ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}), labels: { shard: String(shard) },
      isReady: () => (standby ? { ready: false, reason: shard === 0 ? 'standby: another shard 0 coordinates' : `standby: another process serves shard ${shard}` } : redis.status === 'ready' ? true : { ready: false, reason: `redis ${redis.status}` }),
      version: FIBER_VERSION, log,
    });
    log.info({ metricsPort: ops.health.port }, 'health and metrics serving');
    // A second shard 0 must not register as shard 0 (its record would replace the holder's and
    // restart its stage): it stands by before it listens.
    if (lease && !(await takeCoordinatorLease(lease, { shards: opts.shards, mismatchGraceMs: (opts.standbyGrace ?? 120) * 1000, log, signal: stopped.signal, onAttempt: () => ops?.heartbeat() }))) {
      log.warn('stopped while standing by');
      return;
    }
    // Shards 1..S-1 have no lease: the same wait, on the shard's own record (ps/shard-slot.ts).
    if (!lease && !(await waitForShardSlot(redis, shard, { log, signal: stopped.signal, onAttempt: () => ops?.heartbeat() }))) {
      log.warn('stopped while standing by');
      return;
    }
    standby = false;
    started = true;
    await proc.start();
    let deposed: (err: LeaseLostError) => void = () => undefined;
    const lost = new Promise<LeaseLostError>((resolve) => (deposed = resolve));
    if (lease) {
      workerRedis = (await connectRedis(redisConfig, log)).redis;
      const metrics = ops.metrics;
      coordinator = new Coordinator({
        numShards: opts.shards, redis, workerRedis, store, log: log.child({ role: 'coordinator' }), lease,
        onStep: (r) => {
          metrics.recordTrainingStep({ ...r, time: { ...r.time } });
          metrics.observeStep(r.stage, { durationSeconds: r.time.wall, samples: r.samples });
        },
      });
      coordinator.start();
      stopSampling = sampleWorkers(redis, metrics, log);
      log.info('coordinating stages');
      const renewLog = new RepeatLimiter(log, 30_000);
      let renewedAt = Date.now();
      renewTimer = setInterval(() => void lease.renew().then((ok) => {
        if (ok) renewedAt = Date.now();
        else deposed(new LeaseLostError('the coordinator lease was taken over or expired: stopping so this process restarts as a standby'));
      }, (err: Error) => {
        renewLog.warn('renew', { err: err.message }, 'coordinator lease renewal failed; retrying');
        // Unrenewed for a whole TTL: another shard 0 may hold it now. Stop before it matters.
        if (Date.now() - renewedAt > lease.ttlMs) deposed(new LeaseLostError('the coordinator lease could not be renewed for a whole TTL: stopping so this process restarts as a standby'));
      }), Math.min(2000, Math.max(100, Math.floor(lease.ttlMs / 3))));
    }
    const ended = await Promise.race([signalled, lost]);
    if (ended instanceof LeaseLostError) {
      log.error({ err: ended.message }, 'deposed');
      throw ended;
    }
    log.warn({ signal: ended }, 'stopping');
    if (ended === 'SIGTERM') await proc.preempt(PREEMPT_WAIT_MS);
  } finally {
    clearInterval(renewTimer);
    stopSampling();
    await ops?.close();
    await coordinator?.close();
    await lease?.release().catch((err: Error) => log.warn({ err: err.message }, 'coordinator lease release failed'));
    if (started) await proc.close();
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
