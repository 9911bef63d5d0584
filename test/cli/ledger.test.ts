import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runFiber } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * `fiber ledger` finding a run's checkpoints: from the run registry, or from --checkpoints
 * without Redis. (The audit itself: test/ps/delivery-ledger.test.ts, and after a real run with a
 * worker killed, test/ps/distributed-training.test.ts.)
 */
describe('fiber ledger: where the checkpoints are', () => {
  let server: TestRedis;
  const root = mkdtempSync(join(tmpdir(), 'fiber-ledger-'));
  before(async () => { server = await startRedis(); });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('an unknown run: exit 2, pointing at --checkpoints', async () => {
    const r = await runFiber(['ledger', 'nope'], { FIBER_REDIS_URL: server.url });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no run named "nope".*--checkpoints/);
  });

  it('a registered run with no checkpoint yet: exit 2 naming checkpoint.uri, read from the registry', async () => {
    const sub = await runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', 'led', '--set', 'data.coarse.shards=/x/{0..1}.tar', '--set', `checkpoint.uri=${root}`], { FIBER_REDIS_URL: server.url });
    assert.equal(sub.code, 0, sub.stderr);
    const r = await runFiber(['ledger', 'led'], { FIBER_REDIS_URL: server.url });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`run "led" has no checkpoint under ${root}`), r.stderr);
  });

  it('--checkpoints needs no Redis', async () => {
    const r = await runFiber(['ledger', 'led', '--checkpoints', root], { FIBER_REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no checkpoint under/);
  });
});
