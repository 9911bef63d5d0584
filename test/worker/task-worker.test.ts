import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Writable } from 'node:stream';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { resolveRunConfig } from '../../src/config/index.js';
import { psKeys, QUEUE_PREFIX, TASKS_QUEUE } from '../../src/queue/keys.js';
import { connectRedis } from '../../src/queue/redis-connection.js';
import { taskJobId } from '../../src/queue/task-job.js';
import { TaskWorker } from '../../src/worker/task-worker.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

let redis: TestRedis;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.close(); });

it('a task of a superseded epoch ends at once as stale: it neither pulls nor computes', async () => {
  const config = resolveRunConfig({ preset: 'fiber-tiny', sets: [] });
  // The stage restarted: epoch 2 is active, this task was queued by epoch 1. No shard is up, so a
  // task that went on to pull would fail (and be retried), not come back stale.
  await redis.client.set(psKeys.active, JSON.stringify({
    epoch: '2', run: 'r', stage: 'coarse', configHash: 'h', config, numShards: 1, loadFrom: 'file:///nowhere', startStep: 0,
    shardLives: ['x'], tokenizer: { location: 'builtin', sha256: 's', vocabSize: 50265, specialIds: { bos: 0, pad: 1, eos: 2, unk: 3, mask: 50264 } },
  }));
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString()) as Record<string, unknown>); cb(); } }));
  const conn = async () => (await connectRedis({ url: redis.url, connectTimeoutMs: 5000, reconnect: true })).redis;
  const [r1, r2, r3] = await Promise.all([conn(), conn(), conn()]);
  const worker = new TaskWorker({ id: 'w', token: 'token-0123456789abcdef', redis: r1, workerRedis: r2, log });
  const queue = new Queue(TASKS_QUEUE, { connection: r3, prefix: QUEUE_PREFIX });
  const events = new QueueEvents(TASKS_QUEUE, { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
  try {
    await events.waitUntilReady();
    worker.start();
    const job = await queue.add('coarse-step', { version: 1, run: 'r', stage: 'coarse', epoch: '1', step: 3, task: 0, basis: 3 }, { jobId: taskJobId('r', 'coarse', '1', 3, 0) });
    const result = await job.waitUntilFinished(events, 20_000) as { pushed: string; samples: number };
    assert.deepEqual([result.pushed, result.samples], ['stale', 0]);
    assert.ok(lines.some((l) => l.msg === 'task of a superseded epoch: nothing to do' && l.epoch === '1' && l.active === '2'));
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
    for (const r of [r1, r2, r3]) r.disconnect();
  }
});
