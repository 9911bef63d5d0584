import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors/index.js';
import { startServiceOps } from '../../src/ops/index.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('startServiceOps', () => {
  it('reads the env, serves health and labelled metrics, and closes both once', async () => {
    const port = await freePort();
    const ops = await startServiceOps({
      process: 'ps', env: { FIBER_METRICS_PORT: String(port), FIBER_HEARTBEAT_MAX_AGE_MS: '60000' },
      labels: { shard: '1' }, isReady: () => ({ ready: false, reason: 'loading checkpoint' }), version: '0.1.0',
    });
    assert.equal(ops.health.port, port);
    ops.heartbeat();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    const body = await health.json() as { status: string; heartbeatMaxAgeMs: number };
    assert.equal(health.status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(body.heartbeatMaxAgeMs, 60_000, 'from FIBER_HEARTBEAT_MAX_AGE_MS');
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 503);
    ops.metrics.checkpointDuration.observe({ stage: 'coarse' }, 12);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(text, /fiber_checkpoint_duration_seconds_count\{[^}]*shard="1"[^}]*\} 1/);
    assert.match(text, /fiber_build_info\{version="0\.1\.0",process="ps",shard="1"\} 1/);
    const closing = ops.close();
    assert.equal(ops.close(), closing);
    await closing;
    assert.equal(ops.metrics.isClosed, true);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });

  it('the --metrics-port flag wins; a bad variable is a ConfigError before anything listens', async () => {
    await assert.rejects(startServiceOps({ process: 'worker', env: { FIBER_HEARTBEAT_MAX_AGE_MS: 'soon' }, isReady: () => true }), ConfigError);
    const port = await freePort();
    const ops = await startServiceOps({ process: 'worker', env: { FIBER_METRICS_PORT: 'not-used' }, metricsPort: port, isReady: () => true });
    assert.equal(ops.health.port, port);
    await ops.close();
  });
});
