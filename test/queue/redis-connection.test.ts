import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ConnectionError } from '../../src/errors/index.js';
import { connectRedis, parseInfo, redisConfigFromEnv } from '../../src/queue/redis-connection.js';
import { runFiber } from '../helpers/cli.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('connectRedis', () => {
  let plain: TestRedis;
  let locked: TestRedis;
  const SECRET = 's3cr3t-redis-pw';

  before(async () => {
    plain = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    locked = await startRedis(['--requirepass', SECRET]);
  });
  after(async () => { await plain.close(); await locked.close(); });

  it('reports the version and warns about an evicting maxmemory-policy', async () => {
    const { log, lines } = capture();
    const { redis, check } = await connectRedis({ url: plain.url, connectTimeoutMs: 5000, reconnect: false }, log);
    redis.disconnect();
    assert.match(check.version, /^\d+\.\d+/);
    assert.equal(check.maxmemoryPolicy, 'allkeys-lru');
    assert.ok(lines.some((l) => /maxmemory-policy is \\"allkeys-lru\\".*noeviction/.test(l)), lines.join(''));
  });

  it('fails within the timeout when nothing listens, naming the URL and the settings', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(connectRedis({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 5000, reconnect: false }), (err: ConnectionError) => {
      assert.equal(err.code, 'fiber.redis.unreachable');
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}.*--redis-url / FIBER_REDIS_URL`));
      return true;
    });
    assert.ok(Date.now() - started < 5500);
  });

  it('authenticates with FIBER_REDIS_PASSWORD and never shows a password', async () => {
    const cfg = redisConfigFromEnv({ FIBER_REDIS_URL: locked.url, FIBER_REDIS_PASSWORD: SECRET });
    const { redis } = await connectRedis({ ...cfg, connectTimeoutMs: 5000, reconnect: false });
    assert.equal(await redis.ping(), 'PONG');
    redis.disconnect();

    const withPw = `redis://:${SECRET}@127.0.0.1:${locked.port}`;
    const ok = await runFiber(['status', '--json'], { FIBER_REDIS_URL: withPw, FIBER_LOG_LEVEL: 'debug' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!ok.stdout.includes(SECRET) && !ok.stderr.includes(SECRET), 'password in output');
    assert.match(ok.stdout, /redis:\/\/:\*\*\*@127\.0\.0\.1/);

    const wrong = `redis://:wrong-${SECRET}@127.0.0.1:${locked.port}`;
    const bad = await runFiber(['status', '--verbose'], { FIBER_REDIS_URL: wrong });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /refused the credentials \(WRONGPASS\).*FIBER_REDIS_PASSWORD/);
    assert.ok(!bad.stdout.includes(SECRET) && !bad.stderr.includes(SECRET), `password in output: ${bad.stderr}`);
  });

  it('parses INFO output', () => {
    assert.deepEqual(parseInfo('# Server\r\nredis_version:7.0.15\r\nmaxmemory_policy:noeviction\r\n'), { redis_version: '7.0.15', maxmemory_policy: 'noeviction' });
  });
});
