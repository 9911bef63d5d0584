import type { Logger } from '../log/logger.js';
import { startHealthServer, type HealthServer, type Readiness } from './health-server.js';
import { MALLOC_TUNING, missingMallocTuning } from './malloc-tuning.js';
import { createFiberMetrics, type FiberMetrics } from './metrics.js';
import { opsSettingsFromEnv } from './ops-env.js';

export interface ServiceOpsOptions {
  readonly process: 'ps' | 'worker';
  /** Usually process.env: FIBER_METRICS_PORT and FIBER_HEARTBEAT_MAX_AGE_MS are read from it. */
  readonly env: NodeJS.ProcessEnv;
  /** `--metrics-port`, when given; wins over FIBER_METRICS_PORT. */
  readonly metricsPort?: number;
  /** Labels on every series: `{ shard: '2' }` for a PS shard, `{ worker: id }` for a worker. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly isReady: () => Readiness | Promise<Readiness>;
  readonly version?: string;
  readonly log?: Logger;
}

export interface ServiceOps {
  readonly metrics: FiberMetrics;
  readonly health: HealthServer;
  /** Shorthand for health.heartbeat(). */
  heartbeat(): void;
  /** Close the health server, then the metrics. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
}

/**
 * Everything a service process (`fiber ps`, `fiber worker`) needs for Kubernetes in one call:
 * settings from the environment, one metrics registry for the process, and the health server on
 * the metrics port. Throws ConfigError for a bad FIBER_METRICS_PORT / FIBER_HEARTBEAT_MAX_AGE_MS,
 * and rejects if the port is taken.
 *
 * @example
 * const ops = await startServiceOps({ process: 'worker', env: process.env, metricsPort: opts.metricsPort,
 *   labels: { worker: workerId }, isReady: () => redis.status === 'ready', version: FIBER_VERSION, log });
 * while (!stopping) { ops.heartbeat(); await runOneTaskOrPoll(); }
 * await ops.close();
 */
export async function startServiceOps(options: ServiceOpsOptions): Promise<ServiceOps> {
  const settings = opsSettingsFromEnv(options.env, options.metricsPort);
  const missing = missingMallocTuning(options.env);
  if (missing.length > 0) {
    options.log?.warn({ missing, suggested: MALLOC_TUNING }, 'glibc malloc settings are not set: large transfers will fault their buffers in again each time (the images set them; see docs/ops.md)');
  }
  const metrics = createFiberMetrics({ process: options.process, ...(options.labels ? { labels: options.labels } : {}), ...(options.version ? { version: options.version } : {}) });
  let health: HealthServer;
  try {
    health = await startHealthServer({
      port: settings.metricsPort, heartbeatMaxAgeMs: settings.heartbeatMaxAgeMs, isReady: options.isReady, metrics,
      ...(options.log ? { log: options.log } : {}),
    });
  } catch (err) {
    metrics.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    metrics,
    health,
    heartbeat: () => health.heartbeat(),
    close() {
      closing ??= health.close().finally(() => metrics.close());
      return closing;
    },
  };
}
