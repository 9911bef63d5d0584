import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFiber, type Proc } from '../helpers/cluster.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';

/** `fiber ps` and `fiber worker` as real processes serve the probes and metrics the manifests use. */
describe('health and metrics of the service processes', () => {
  let redis: TestRedis;
  const procs: Proc[] = [];
  before(async () => { redis = await startRedis(); });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await redis.close();
  });

  async function get(port: number, path: string): Promise<{ status: number; body: string }> {
    for (let i = 0; i < 150; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, body: await res.text() };
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`nothing answered on port ${port}`);
  }

  for (const kind of ['ps', 'worker'] as const) {
    it(`fiber ${kind}: /healthz, /readyz and /metrics`, async () => {
      const port = await freePort();
      const args = kind === 'ps' ? ['ps', '--shard', '0', '--shards', '1', '--port', '0', '--bind', '127.0.0.1'] : ['worker', '--id', 'probe'];
      const p = startFiber(kind, args, { FIBER_REDIS_URL: redis.url, FIBER_METRICS_PORT: String(port) });
      procs.push(p);
      assert.equal((await get(port, '/healthz')).status, 200, p.output());
      let ready = await get(port, '/readyz');
      for (let i = 0; i < 50 && ready.status !== 200; i++) ready = await get(port, '/readyz');
      assert.equal(ready.status, 200, ready.body);
      const metrics = await get(port, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /fiber_build_info/);
      assert.match(metrics.body, kind === 'ps' ? /fiber_push_bytes_total/ : /fiber_task_duration_seconds/);
      await p.kill('SIGTERM');
      assert.equal(p.child.exitCode, 0, p.output());
    });
  }
});
