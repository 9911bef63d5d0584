import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHealthServer } from '../../src/ops/health-server.js';
import { createFiberMetrics } from '../../src/ops/metrics.js';
import { opsSettingsFromEnv } from '../../src/ops/ops-env.js';
import { ConfigError } from '../../src/errors/index.js';
import { sample } from './prometheus-sample.js';

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

/**
 * Prometheus text format 0.0.4: comments, blank lines or `name{labels} value [timestamp]`. Values
 * are Go floats, so NaN and Inf in any case (prom-client writes `Nan`, which Prometheus accepts).
 */
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)( -?[0-9]+)?$/;

describe('health server', () => {
  it('/healthz is 200 while the heartbeat is fresh and 503 once it is stale', async () => {
    let clock = 1_000_000;
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 5_000, isReady: () => true, now: () => clock });
    try {
      let r = await get(server.port, '/healthz');
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { status: 'ok', heartbeatAgeMs: 0, heartbeatMaxAgeMs: 5_000 });

      clock += 5_000; // exactly the max age is still alive
      assert.equal((await get(server.port, '/healthz')).status, 200);

      clock += 1;
      r = await get(server.port, '/healthz');
      assert.equal(r.status, 503);
      assert.equal(JSON.parse(r.body).status, 'stale');
      assert.equal(server.heartbeatAgeMs(), 5_001);

      server.heartbeat();
      assert.equal((await get(server.port, '/healthz')).status, 200, 'a new heartbeat makes it live again');
    } finally {
      await server.close();
    }
  });

  it('goes stale on the real clock when nothing beats', async () => {
    // Generous margins: the machine running the tests may be busy.
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 1_000, isReady: () => true });
    try {
      server.heartbeat();
      assert.equal((await get(server.port, '/healthz')).status, 200);
      await new Promise((r) => setTimeout(r, 1_200));
      assert.equal((await get(server.port, '/healthz')).status, 503);
    } finally {
      await server.close();
    }
  });

  it('/readyz follows the callback, its reason, its errors and its timeout', async () => {
    let answer: boolean | { ready: boolean; reason?: string } | 'throw' | 'hang' = false;
    const server = await startHealthServer({
      port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 60_000, readyTimeoutMs: 100,
      isReady: () => {
        if (answer === 'throw') throw new Error('redis: connection refused');
        if (answer === 'hang') return new Promise<boolean>(() => undefined);
        return answer;
      },
    });
    try {
      assert.equal((await get(server.port, '/readyz')).status, 503);
      answer = true;
      const ok = await get(server.port, '/readyz');
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body), { status: 'ready' });
      answer = { ready: false, reason: 'shard not initialised' };
      const notReady = await get(server.port, '/readyz');
      assert.equal(notReady.status, 503);
      assert.deepEqual(JSON.parse(notReady.body), { status: 'not-ready', reason: 'shard not initialised' });
      answer = 'throw';
      const thrown = await get(server.port, '/readyz');
      assert.equal(thrown.status, 503);
      assert.match(thrown.body, /connection refused/);
      answer = 'hang';
      const hung = await get(server.port, '/readyz');
      assert.equal(hung.status, 503);
      assert.match(hung.body, /longer than 100 ms/);
    } finally {
      await server.close();
    }
  });

  it('/metrics is valid Prometheus text with fiber metrics, including what the process recorded', async () => {
    const metrics = createFiberMetrics({ process: 'worker', labels: { worker: 'w-1' }, version: '0.1.0' });
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 60_000, isReady: () => true, metrics });
    try {
      metrics.taskDuration.observe({ stage: 'coarse', outcome: 'ok' }, 1.5);
      metrics.pushBytes.inc({ shard: '0' }, 4096);
      metrics.skippedSamples.inc({ stage: 'coarse', reason: 'undecodable-image' });
      metrics.queueDepth.set({ queue: 'tasks', state: 'waiting' }, 7);
      server.heartbeat();
      const r = await get(server.port, '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
      const lines = r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      for (const line of lines) assert.match(line, SAMPLE_LINE, `not a Prometheus sample line: ${line}`);
      for (const name of ['fiber_step_duration_seconds', 'fiber_samples_per_second', 'fiber_push_bytes_total', 'fiber_pull_bytes_total',
        'fiber_push_duration_seconds', 'fiber_pull_duration_seconds', 'fiber_queue_depth', 'fiber_skipped_samples_total',
        'fiber_checkpoint_duration_seconds', 'fiber_task_duration_seconds', 'fiber_last_heartbeat_timestamp_seconds']) {
        assert.match(r.body, new RegExp(`^# TYPE ${name} `, 'm'), `${name} declared`);
      }
      const worker = { process: 'worker', worker: 'w-1' };
      assert.equal(sample(r.body, 'fiber_push_bytes_total', { ...worker, shard: '0' }), 4096);
      assert.equal(sample(r.body, 'fiber_task_duration_seconds_count', { ...worker, stage: 'coarse', outcome: 'ok' }), 1);
      assert.equal(sample(r.body, 'fiber_task_duration_seconds_sum', { ...worker, stage: 'coarse', outcome: 'ok' }), 1.5);
      assert.equal(sample(r.body, 'fiber_skipped_samples_total', { ...worker, stage: 'coarse', reason: 'undecodable-image' }), 1);
      assert.equal(sample(r.body, 'fiber_queue_depth', { ...worker, queue: 'tasks', state: 'waiting' }), 7);
      assert.equal(sample(r.body, 'fiber_build_info', { ...worker, version: '0.1.0' }), 1);
      assert.match(r.body, /^fiber_node_process_cpu_user_seconds_total/m, 'Node process metrics with the fiber_node_ prefix');
      const beat = sample(r.body, 'fiber_last_heartbeat_timestamp_seconds', worker);
      assert.ok(beat !== undefined && Math.abs(beat - Date.now() / 1000) < 60, 'heartbeat gauge is a recent unix time');
    } finally {
      await server.close();
      metrics.close();
    }
  });

  it('answers 404 for unknown paths, 405 for other methods, and HEAD without a body', async () => {
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 60_000, isReady: () => true });
    try {
      assert.equal((await get(server.port, '/nope')).status, 404);
      const post = await get(server.port, '/healthz', 'POST');
      assert.equal(post.status, 405);
      const head = await get(server.port, '/healthz', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
    } finally {
      await server.close();
    }
  });

  it('close() is idempotent, frees the port, and closes only a registry it made itself', async () => {
    const shared = createFiberMetrics({ process: 'ps', nodeMetrics: false });
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 60_000, isReady: () => true, metrics: shared });
    const port = server.port;
    const first = server.close();
    assert.equal(server.close(), first, 'same promise');
    await first;
    await server.close();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    assert.equal(shared.isClosed, false, 'a registry passed in belongs to the caller');

    const own = await startHealthServer({ port, host: '127.0.0.1', heartbeatMaxAgeMs: 60_000, isReady: () => true });
    assert.equal(own.port, port, 'the port was released');
    await own.close();
    assert.equal(own.metrics.isClosed, true);

    shared.close();
    shared.close();
    assert.equal(shared.isClosed, true);
    assert.equal((await shared.text()).trim(), '', 'a closed registry has no series');
  });

  it('rejects when the port is taken, and rejects a non-positive max age', async () => {
    const a = await startHealthServer({ port: 0, host: '127.0.0.1', heartbeatMaxAgeMs: 1_000, isReady: () => true });
    try {
      await assert.rejects(startHealthServer({ port: a.port, host: '127.0.0.1', heartbeatMaxAgeMs: 1_000, isReady: () => true }), /EADDRINUSE/);
    } finally {
      await a.close();
    }
    await assert.rejects(startHealthServer({ port: 0, heartbeatMaxAgeMs: 0, isReady: () => true }), RangeError);
  });
});

describe('opsSettingsFromEnv', () => {
  it('defaults, reads the variables, lets the flag win, and names a bad variable', () => {
    assert.deepEqual(opsSettingsFromEnv({}), { metricsPort: 9090, heartbeatMaxAgeMs: 300_000 });
    assert.deepEqual(opsSettingsFromEnv({ FIBER_METRICS_PORT: '9191', FIBER_HEARTBEAT_MAX_AGE_MS: '60000' }), { metricsPort: 9191, heartbeatMaxAgeMs: 60_000 });
    assert.equal(opsSettingsFromEnv({ FIBER_METRICS_PORT: '9191' }, 9292).metricsPort, 9292);
    assert.throws(() => opsSettingsFromEnv({ FIBER_METRICS_PORT: 'http' }), (err: unknown) => err instanceof ConfigError && err.field === 'FIBER_METRICS_PORT');
    assert.throws(() => opsSettingsFromEnv({ FIBER_HEARTBEAT_MAX_AGE_MS: '-5' }), (err: unknown) => err instanceof ConfigError && err.field === 'FIBER_HEARTBEAT_MAX_AGE_MS');
  });
});
