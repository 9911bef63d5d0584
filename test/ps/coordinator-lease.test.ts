import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CoordinatorLease, LeaseLostError, readLeaseHolder } from '../../src/ps/coordinator-lease.js';
import { takeCoordinatorLease } from '../../src/ps/coordinator-standby.js';
import { isFiberError } from '../../src/errors/index.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { runFiber } from '../helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('coordinator lease (real redis-server)', () => {
  let redis: TestRedis;
  before(async () => { redis = await startRedis(); });
  after(async () => { await redis.close(); });
  beforeEach(async () => { await redis.flush(); });

  const lease = (host: string, shards = 1, ttlMs = 300) => new CoordinatorLease(redis.client, { host, pid: 1, shards, ttlMs });

  it('one holder at a time; the other sees who holds it', async () => {
    const a = lease('a');
    const b = lease('b', 2);
    const ra = await a.tryAcquire();
    const rb = await b.tryAcquire();
    assert.equal(ra.acquired, true);
    assert.equal(rb.acquired, false);
    assert.equal(rb.holder.host, 'a');
    assert.equal(rb.holder.shards, 1);
    assert.equal(rb.holder.token, a.token);
    assert.equal(b.token, null);
  });

  it('`fiber status` names the holder, and says so when nobody holds the lease', async () => {
    const none = JSON.parse((await runFiber(['status', '--json'], { FIBER_REDIS_URL: redis.url })).stdout) as { coordinator: unknown };
    assert.equal(none.coordinator, null);
    const a = new CoordinatorLease(redis.client, { host: 'ps-0-pod', pid: 4242, shards: 3, ttlMs: 30_000 });
    await a.tryAcquire();
    const json = JSON.parse((await runFiber(['status', '--json'], { FIBER_REDIS_URL: redis.url })).stdout) as { coordinator: Record<string, unknown> };
    assert.deepEqual({ ...json.coordinator, since: undefined }, { host: 'ps-0-pod', pid: 4242, shards: 3, token: a.token, since: undefined });
    const text = (await runFiber(['status'], { FIBER_REDIS_URL: redis.url, NO_COLOR: '1' })).stdout;
    assert.match(text, new RegExp(`coordinator ps-0-pod \\(pid 4242, --shards 3, lease token ${String(a.token)}\\)`));
  });

  it('expires without renewal, and a takeover gets a larger token', async () => {
    const a = lease('a');
    const b = lease('b');
    await a.tryAcquire();
    await sleep(400);
    assert.equal(await readLeaseHolder(redis.client), null, 'the lease expired');
    const rb = await b.tryAcquire();
    assert.equal(rb.acquired, true);
    assert.ok(b.token! > 1, `monotonic tokens: ${b.token}`);
    assert.equal(await a.renew(), false, 'the old holder cannot renew another one\'s lease');
  });

  it('a lease that expired while nobody took it is taken back (a long pause is not a deposition)', async () => {
    const a = lease('a');
    await a.tryAcquire();
    await sleep(400);
    assert.equal(await readLeaseHolder(redis.client), null);
    await a.set('fiber:ps:active', 'still-mine');
    assert.equal((await readLeaseHolder(redis.client))?.host, 'a');
    assert.equal(await a.renew(), true);
  });

  it('renewal keeps it past its TTL', async () => {
    const a = lease('a');
    await a.tryAcquire();
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      assert.equal(await a.renew(), true);
    }
    assert.equal((await lease('b').tryAcquire()).acquired, false, 'still held 500 ms later (TTL 300 ms)');
  });

  it('a stale token is refused: a deposed coordinator cannot write a control record', async () => {
    const a = lease('a');
    const b = lease('b');
    await a.tryAcquire();
    await a.set('fiber:ps:active', 'epoch-1');
    await redis.client.del('fiber:ps:coordinator:lease'); // as if a's lease had expired during a pause
    await b.tryAcquire();
    await assert.rejects(a.set('fiber:ps:active', 'epoch-2'), (err: unknown) => err instanceof LeaseLostError && /held by b/.test(err.message));
    await assert.rejects(a.del('fiber:ps:active'), LeaseLostError);
    await assert.rejects(a.assertHeld(), LeaseLostError);
    assert.equal(await redis.client.get('fiber:ps:active'), 'epoch-1');
    await b.set('fiber:ps:active', 'epoch-3', 60);
    assert.equal(await redis.client.get('fiber:ps:active'), 'epoch-3');
    assert.ok((await redis.client.ttl('fiber:ps:active')) > 0);
  });

  it('release lets a standby in at once; releasing twice is harmless', async () => {
    const a = lease('a', 1, 60_000);
    await a.tryAcquire();
    await a.release();
    await a.release();
    assert.equal((await lease('b').tryAcquire()).acquired, true);
  });

  it('a standby with the same --shards waits quietly and takes over when the holder goes', async () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }));
    const a = lease('a', 2, 60_000);
    await a.tryAcquire();
    const aToken = a.token!;
    const b = lease('b', 2, 300);
    const taking = takeCoordinatorLease(b, { shards: 2, retryMs: 20, log });
    await sleep(300);
    await a.release();
    assert.equal(await taking, true);
    assert.ok(b.token! > aToken, 'the new holder fences with a larger token');
    const standby = lines.filter((l) => l.includes('standing by'));
    assert.equal(standby.length, 1, `one line while ~15 attempts failed: ${lines.join('')}`);
    assert.match(standby[0]!, /pid 1, --shards 2/);
  });

  it('a candidate with another --shards exits 2 after the grace window, naming the holder', async () => {
    const log = pino(new Writable({ write(_c, _e, cb) { cb(); } }));
    const a = lease('pod-a', 1, 60_000);
    await a.tryAcquire();
    await assert.rejects(takeCoordinatorLease(lease('pod-b', 2), { shards: 2, mismatchGraceMs: 100, retryMs: 20, log }), (err: unknown) =>
      isFiberError(err) && err.kind === 'usage' && err.code === 'fiber.ps.shards_mismatch' && /pod-a/.test(err.message) && /--shards 1/.test(err.message) && /since/.test(err.message));
  });
});
