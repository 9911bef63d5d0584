import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { RepeatLimiter } from '../../src/log/repeat-limiter.js';
import { logQueueErrors } from '../../src/queue/log-queue-errors.js';
import { connectRedis } from '../../src/queue/redis-connection.js';
import { startRedis } from '../helpers/redis-server.js';

it('a Queue whose Redis goes away logs one line per message, not a console.error stack per reconnect attempt', async () => {
  const redis = await startRedis();
  const lines: Array<{ msg: string; err: string }> = [];
  const log = pino(new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString()) as { msg: string; err: string }); cb(); } }));
  const { redis: conn } = await connectRedis({ url: redis.url, connectTimeoutMs: 5000, reconnect: true });
  const queue = new Queue('log-queue-errors-test', { connection: conn });
  await queue.waitUntilReady();
  let emitted = 0;
  conn.on('error', () => { emitted++; });
  logQueueErrors(queue, new RepeatLimiter(log, 60_000), 'tasks queue');
  const printed: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => { printed.push(args); };
  try {
    await redis.close();
    // ioredis retries after 400, 800, 1600 ms...: a few refused connections.
    await new Promise((r) => setTimeout(r, 3500));
  } finally {
    console.error = consoleError;
    conn.disconnect();
    await queue.close().catch(() => {});
  }
  assert.ok(emitted >= 3, `the connection saw ${emitted} errors`);
  assert.deepEqual(printed, [], 'nothing went to console.error');
  const distinct = new Set(lines.map((l) => l.err));
  assert.ok(lines.length >= 1 && lines.length === distinct.size, `one line per distinct message: ${JSON.stringify(lines.map((l) => l.err))}`);
  assert.ok(lines.every((l) => l.msg === 'tasks queue: Redis connection error (reconnecting)'));
});
