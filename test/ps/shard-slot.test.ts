import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { psKeys } from '../../src/queue/keys.js';
import { waitForShardSlot } from '../../src/ps/shard-slot.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';

function capture() {
  const lines: Array<{ msg: string }> = [];
  return { lines, log: pino(new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString()) as { msg: string }); cb(); } })) };
}

describe('waitForShardSlot (real redis-server, real TCP)', () => {
  let redis: TestRedis;
  before(async () => { redis = await startRedis(); });
  after(async () => { await redis.close(); });
  beforeEach(async () => { await redis.flush(); });

  const record = (port: number) => JSON.stringify({ shard: 1, host: '127.0.0.1', port, pid: 4242, startedAt: '2026-12-05T20:00:00.000Z' });

  it('a free slot, or a dead process\'s record (its port refuses), is taken at once', async () => {
    const { log, lines } = capture();
    assert.equal(await waitForShardSlot(redis.client, 1, { log }), true);
    await redis.client.set(psKeys.shard(1), record(await freePort()), 'EX', 15);
    assert.equal(await waitForShardSlot(redis.client, 1, { log }), true);
    assert.equal(lines.length, 0);
  });

  it('stands by, naming the holder once, while a live process serves the shard; takes over when it stops', async () => {
    const live: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
    const port = (live.address() as { port: number }).port;
    await redis.client.set(psKeys.shard(1), record(port), 'EX', 15);
    const { log, lines } = capture();
    let attempts = 0;
    let settled = false;
    const waiting = waitForShardSlot(redis.client, 1, { log, pollMs: 50, onAttempt: () => attempts++ }).then((ok) => { settled = true; return ok; });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(settled, false, 'still standing by');
    assert.ok(attempts >= 5, `${attempts} looks`);
    assert.equal(lines.length, 1, 'one log line, not one per look');
    assert.match(lines[0]!.msg, new RegExp(`shard 1 is served by another live process \\(127\\.0\\.0\\.1:${port}, pid 4242, since 2026-12-05T20:00:00.000Z\\): standing by`));
    await new Promise<void>((r) => live.close(() => r()));
    assert.equal(await waiting, true);
  });

  it('a stop while standing by ends the wait with false', async () => {
    const live: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
    await redis.client.set(psKeys.shard(1), record((live.address() as { port: number }).port), 'EX', 15);
    const stop = new AbortController();
    const waiting = waitForShardSlot(redis.client, 1, { log: capture().log, signal: stop.signal, pollMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    assert.equal(await waiting, false);
    await new Promise<void>((r) => live.close(() => r()));
  });
});
