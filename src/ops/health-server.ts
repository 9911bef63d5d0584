import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { HEALTH_PATHS } from './env-contract.js';
import { FiberMetrics, type MetricsProcess } from './metrics.js';

/** What `isReady` may answer: a boolean, or a boolean with the reason shown in the /readyz body. */
export type Readiness = boolean | { readonly ready: boolean; readonly reason?: string };

export interface HealthServerOptions {
  /** Port to listen on; 0 picks a free one (see `HealthServer.port`). Usually `opsSettingsFromEnv(env).metricsPort`. */
  readonly port: number;
  /** Interface to bind. @defaultValue '0.0.0.0' (kubelet probes and Prometheus come from outside the pod) */
  readonly host?: string;
  /**
   * Readiness: e.g. "connected to Redis and shard initialised". Called on every GET /readyz;
   * a throw, a rejection or taking longer than `readyTimeoutMs` answers 503.
   */
  readonly isReady: () => Readiness | Promise<Readiness>;
  /** Liveness: GET /healthz answers 503 once the last `heartbeat()` is older than this. */
  readonly heartbeatMaxAgeMs: number;
  /** Bound on one `isReady` call. @defaultValue 2000 */
  readonly readyTimeoutMs?: number;
  /** Registry served on /metrics. When absent the server makes (and on close() closes) its own. */
  readonly metrics?: FiberMetrics;
  /** Used only when `metrics` is absent, for the server's own registry. @defaultValue 'worker' */
  readonly process?: MetricsProcess;
  readonly log?: Logger;
  /** Clock, for tests. @defaultValue Date.now */
  readonly now?: () => number;
}

export interface HealthServer {
  /** The port actually bound (differs from the option when it was 0). */
  readonly port: number;
  /** The registry behind /metrics: the one passed in, or the server's own. */
  readonly metrics: FiberMetrics;
  /**
   * Mark the main loop alive. Call it from the loop itself (each task, each step, and each idle
   * poll of the queue), not from a timer: a timer keeps beating while the loop is stuck, and then
   * liveness means nothing. Cheap: one Date.now() and one gauge set.
   */
  heartbeat(): void;
  /** Milliseconds since the last heartbeat (the server counts its start as one). */
  heartbeatAgeMs(): number;
  /** Stop listening and drop open connections. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
}

/**
 * Start the HTTP server a fiber service (PS shard, worker) exposes on its metrics port:
 *
 * - `GET /healthz` liveness: 200 `{"status":"ok",...}` while the last heartbeat is at most
 *   `heartbeatMaxAgeMs` old, else 503 `{"status":"stale",...}`. The kubelet restarts the pod
 *   after the probe's failureThreshold consecutive 503s (k8s/base/worker.yaml).
 * - `GET /readyz` readiness: 200 when `isReady()` says so, else 503 with the reason.
 * - `GET /metrics` Prometheus text format of `metrics.registry`.
 * - anything else: 404; methods other than GET/HEAD: 405.
 *
 * Resolves once listening; rejects if the port cannot be bound (EADDRINUSE). The server does not
 * keep the process alive on its own (it is unref'd): the service's main loop does.
 *
 * Note for the caller: the HTTP server runs on the event loop. A long synchronous TensorFlow.js
 * call blocks it, and probes time out meanwhile; yield (`await`) between micro-batches, and keep
 * the liveness probe's timeoutSeconds x failureThreshold above the longest synchronous stretch.
 *
 * @example
 * const ops = opsSettingsFromEnv(process.env, opts.metricsPort);
 * const metrics = createFiberMetrics({ process: 'worker', labels: { worker: workerId } });
 * const health = await startHealthServer({ port: ops.metricsPort, heartbeatMaxAgeMs: ops.heartbeatMaxAgeMs,
 *   isReady: () => redis.status === 'ready', metrics, log });
 * for (;;) { health.heartbeat(); await processNextTask(); }
 * // on SIGTERM: drain, then
 * await health.close(); metrics.close();
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  if (!Number.isFinite(options.heartbeatMaxAgeMs) || options.heartbeatMaxAgeMs <= 0) {
    throw new RangeError(`heartbeatMaxAgeMs must be > 0, got ${options.heartbeatMaxAgeMs}`);
  }
  const now = options.now ?? Date.now;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;
  const ownsMetrics = options.metrics === undefined;
  const metrics = options.metrics ?? new FiberMetrics({ process: options.process ?? 'worker' });
  const log = options.log;

  let lastBeat = now();
  metrics.lastHeartbeat.set(lastBeat / 1000);
  const heartbeatAgeMs = () => Math.max(0, now() - lastBeat);

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log?.error({ err: (err as Error).message, path: req.url }, 'health server request failed');
      if (!res.headersSent) send(res, 500, { status: 'error', error: (err as Error).message });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, { status: 'error', error: `method ${req.method} not allowed` });
      return;
    }
    switch (path) {
      case HEALTH_PATHS.liveness: {
        const ageMs = heartbeatAgeMs();
        const ok = ageMs <= options.heartbeatMaxAgeMs;
        if (!ok) log?.warn({ heartbeatAgeMs: ageMs, heartbeatMaxAgeMs: options.heartbeatMaxAgeMs }, 'liveness failing: main loop heartbeat is stale');
        send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'stale', heartbeatAgeMs: ageMs, heartbeatMaxAgeMs: options.heartbeatMaxAgeMs });
        return;
      }
      case HEALTH_PATHS.readiness: {
        const { ready, reason } = await checkReady();
        send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', ...(reason ? { reason } : {}) });
        return;
      }
      case HEALTH_PATHS.metrics: {
        const body = await metrics.text();
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      default:
        send(res, 404, { status: 'error', error: `no such path ${path}; try ${Object.values(HEALTH_PATHS).join(', ')}` });
    }
  }

  async function checkReady(): Promise<{ ready: boolean; reason?: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`readiness check took longer than ${readyTimeoutMs} ms`)), readyTimeoutMs);
      });
      const answer = await Promise.race([Promise.resolve().then(options.isReady), timeout]);
      return typeof answer === 'boolean' ? { ready: answer } : { ready: answer.ready, ...(answer.reason ? { reason: answer.reason } : {}) };
    } catch (err) {
      return { ready: false, reason: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log?.error({ err: err.message }, 'health server error'));
  server.unref();
  const port = (server.address() as AddressInfo).port;
  log?.info({ port, paths: HEALTH_PATHS }, 'health and metrics server listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    metrics,
    heartbeat() {
      lastBeat = now();
      metrics.lastHeartbeat.set(lastBeat / 1000);
    },
    heartbeatAgeMs,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close((err) => {
          if (err) log?.warn({ err: err.message }, 'health server close');
          if (ownsMetrics) metrics.close();
          resolve();
        });
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
