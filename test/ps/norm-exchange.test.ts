import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectRedis } from '../../src/queue/redis-connection.js';
import { redisNormExchange } from '../../src/ps/norm-exchange.js';
import { startPersistentRedis, type PersistentRedis } from '../helpers/persistent-redis.js';

describe('redisNormExchange (real redis-server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fiber-norm-exchange-'));
  let redis: PersistentRedis;
  before(async () => { redis = await startPersistentRedis(join(dir, 'redis')); });
  after(async () => {
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits out a Redis restart that lost the first shard\'s partials, writes them again, and both shards get both', async () => {
    // As `fiber ps` connects: reconnecting, commands queued while the server is away.
    const a = (await connectRedis({ url: redis.url, connectTimeoutMs: 5000, reconnect: true })).redis;
    const b = (await connectRedis({ url: redis.url, connectTimeoutMs: 5000, reconnect: true })).redis;
    try {
      const x0 = Float64Array.of(1, 2, 3);
      const x1 = Float64Array.of(4, 5, 6);
      const first = redisNormExchange(a, 'test:epoch:1', 0, 2, { timeoutMs: 20_000 })(7, x0);
      // Shard 0's partials are in Redis; then Redis goes down and comes back empty.
      for (let i = 0; i < 100 && (await redis.client.hlen('test:epoch:1:norm:7')) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await redis.stop('SIGKILL');
      redis.wipe();
      await new Promise((r) => setTimeout(r, 500));
      await redis.start();
      const second = await redisNormExchange(b, 'test:epoch:1', 1, 2, { timeoutMs: 20_000 })(7, x1);
      const got = await first;
      assert.deepEqual(got.map((x) => [...x]), [[1, 2, 3], [4, 5, 6]]);
      assert.deepEqual(second.map((x) => [...x]), [[1, 2, 3], [4, 5, 6]]);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('names the shards missing and the last Redis error at its deadline', async () => {
    const a = (await connectRedis({ url: redis.url, connectTimeoutMs: 5000, reconnect: true })).redis;
    try {
      await assert.rejects(redisNormExchange(a, 'test:epoch:2', 0, 3, { timeoutMs: 300 })(1, Float64Array.of(1)), /step 1: only 1 of 3 shards reported within 300 ms/);
    } finally {
      a.disconnect();
    }
  });
});
