import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configHash, resolveRunConfig } from '../../src/config/index.js';
import { RunStateError } from '../../src/errors/index.js';
import { cancelRun } from '../../src/queue/cancel-run.js';
import { collectStatus } from '../../src/queue/collect-status.js';
import { stageJobId } from '../../src/queue/keys.js';
import { RunRegistry } from '../../src/queue/run-registry.js';
import { openStageQueue, openTaskQueue, type StageQueue } from '../../src/queue/stage-queue.js';
import { promoteWaitingStage, submitStage, type SubmitRequest } from '../../src/queue/submit-stage.js';
import { snapshotKeys, startRedis, type TestRedis } from '../helpers/redis-server.js';

const config = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.coarse.shards=s3://b/c/{0..3}.tar', 'data.fine.shards=s3://b/f/{0..1}.tar'] });
const hash = configHash(config);
const request = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({ run: 'r1', stage: 'coarse', config, configHash: hash, init: null, now: new Date('2026-01-01T00:00:00Z'), ...over });

describe('submitStage / promoteWaitingStage / cancelRun (real Redis, real BullMQ)', () => {
  let server: TestRedis;
  let redis: Redis;
  let registry: RunRegistry;
  let queue: StageQueue;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    registry = new RunRegistry(redis);
    queue = openStageQueue(redis);
  });
  after(async () => {
    await queue.close();
    redis.disconnect();
    await server.close();
  });
  beforeEach(() => server.flush());

  it('adds exactly one job however often the same stage is submitted, even concurrently', async () => {
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => submitStage(registry, queue, request())));
    assert.equal(outcomes.filter((o) => o.kind === 'queued').length, 1);
    assert.equal(outcomes.filter((o) => o.kind === 'exists').length, 3);
    const jobs = await queue.getJobs(['waiting', 'active', 'delayed']);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.id, stageJobId('r1', 'coarse', hash));
    assert.equal(jobs[0]!.data.version, 1);
    assert.equal(jobs[0]!.data.config.seed, config.seed);
    const again = await submitStage(registry, queue, request());
    assert.deepEqual(again, { kind: 'exists', jobId: stageJobId('r1', 'coarse', hash), state: 'queued' });
  });

  it('refuses another config under the same run name and writes nothing', async () => {
    await submitStage(registry, queue, request());
    const before = await snapshotKeys(redis);
    const other = resolveRunConfig({ preset: 'fiber-tiny', sets: ['seed=5', 'data.coarse.shards=s3://b/c/0.tar'] });
    await assert.rejects(submitStage(registry, queue, request({ config: other, configHash: configHash(other) })),
      (err: RunStateError) => err.code === 'fiber.run.config_mismatch' && /different config/.test(err.message));
    assert.deepEqual(await snapshotKeys(redis), before);
  });

  it('refuses a fine stage of an unknown run, and of a run without a coarse stage', async () => {
    await assert.rejects(submitStage(registry, queue, request({ stage: 'fine', run: 'nobody' })), (e: RunStateError) => e.code === 'fiber.run.no_coarse');
    assert.deepEqual(await snapshotKeys(redis), []);
  });

  it('holds a fine stage until coarse completes, then queues it from the coarse checkpoint', async () => {
    await submitStage(registry, queue, request());
    const fine = await submitStage(registry, queue, request({ stage: 'fine' }));
    assert.equal(fine.kind, 'waiting');
    assert.equal(await queue.getJob(stageJobId('r1', 'fine', hash)), undefined, 'no fine job yet');
    assert.equal(await promoteWaitingStage(registry, queue, 'r1'), false, 'coarse not complete: nothing to promote');

    // What the coordinator does at the end of the coarse stage (issue 5).
    assert.ok(await registry.transition('r1', 'coarse', ['queued'], 'running'));
    assert.ok(await registry.transition('r1', 'coarse', ['running'], 'completed', { checkpoint: 's3://ckpt/r1/coarse/step-200' }));
    assert.equal(await promoteWaitingStage(registry, queue, 'r1'), true);
    assert.equal(await promoteWaitingStage(registry, queue, 'r1'), false, 'idempotent');

    const job = await queue.getJob(stageJobId('r1', 'fine', hash));
    assert.equal(job?.data.init, 's3://ckpt/r1/coarse/step-200');
    const record = await registry.get('r1');
    assert.equal(record?.stages.fine?.state, 'queued');
    assert.equal(record?.stages.fine?.init, 's3://ckpt/r1/coarse/step-200');
  });

  it('queues a fine stage at once when its coarse stage already completed', async () => {
    await submitStage(registry, queue, request());
    await registry.transition('r1', 'coarse', ['queued'], 'completed', { checkpoint: 'file:///ck/final' });
    const fine = await submitStage(registry, queue, request({ stage: 'fine' }));
    assert.equal(fine.kind, 'queued');
    assert.equal((await queue.getJob(stageJobId('r1', 'fine', hash)))?.data.init, 'file:///ck/final');
  });

  it('queues a fine stage with --init on a new run without any coarse stage', async () => {
    const fine = await submitStage(registry, queue, request({ stage: 'fine', run: 'ft', init: 's3://x/ckpt' }));
    assert.equal(fine.kind, 'queued');
    assert.equal((await queue.getJob(stageJobId('ft', 'fine', hash)))?.data.init, 's3://x/ckpt');
  });

  it('cancel removes waiting jobs, marks the run, and a second cancel changes nothing', async () => {
    await submitStage(registry, queue, request());
    await submitStage(registry, queue, request({ stage: 'fine' }));
    const first = await cancelRun(registry, queue, 'r1', new Date());
    assert.equal(first.alreadyCancelled, false);
    assert.deepEqual(first.removedJobs, [stageJobId('r1', 'coarse', hash)]);
    assert.deepEqual(first.stages.map((s) => `${s.stage}:${s.from}->${s.to}`), ['coarse:queued->cancelled', 'fine:waiting->cancelled']);
    assert.equal((await queue.getJobs(['waiting', 'delayed'])).length, 0);
    const second = await cancelRun(registry, queue, 'r1', new Date());
    assert.equal(second.alreadyCancelled, true);
    assert.equal(second.stages.length, 0);
    await assert.rejects(submitStage(registry, queue, request()), (e: RunStateError) => e.code === 'fiber.run.cancelled');
    await assert.rejects(cancelRun(registry, queue, 'ghost', new Date()), (e: RunStateError) => e.code === 'fiber.run.unknown');
  });

  it('cancel of a running stage flags it for the coordinator instead of removing it', async () => {
    await submitStage(registry, queue, request());
    await registry.transition('r1', 'coarse', ['queued'], 'running');
    const out = await cancelRun(registry, queue, 'r1', new Date());
    assert.deepEqual(out.stages.map((s) => s.to), ['cancel-requested']);
    const status = await collectStatus({ registry, stageQueue: queue, taskQueue: openTaskQueue(redis), redis: { url: server.url, version: 'x' } }, 'r1', new Date());
    assert.equal(status.runs[0]?.stages[0]?.cancelRequested, true);
    assert.equal(status.runs[0]?.state, 'running');
  });

  it('status reports progress fields written by the coordinator', async () => {
    await submitStage(registry, queue, request());
    await registry.transition('r1', 'coarse', ['queued'], 'running', { startedAt: '2026-01-01T00:00:01Z' });
    await registry.updateStage('r1', 'coarse', { step: '50', samplesPerSec: '16', lr: '0.0005', 'loss.itc': '2.5', 'loss.mlm': '7.25', 'skipped.bad_image': '3' });
    const now = new Date();
    await redis.hset('fiber:workers', 'w-live', JSON.stringify({ id: 'w-live', host: 'h', backend: 'wasm', state: 'busy', task: 'r1/coarse step 50 task 0', tasksDone: 7, lastHeartbeat: new Date(now.getTime() - 2000).toISOString() }));
    await redis.hset('fiber:workers', 'w-gone', JSON.stringify({ id: 'w-gone', host: 'h', backend: 'wasm', state: 'busy', task: null, tasksDone: 1, lastHeartbeat: new Date(now.getTime() - 60_000).toISOString() }));
    const taskQueue = openTaskQueue(redis);
    const report = await collectStatus({ registry, stageQueue: queue, taskQueue, redis: { url: server.url, version: '7' } }, undefined, now);
    await taskQueue.close();
    const s = report.runs[0]!.stages[0]!;
    assert.equal(report.schema, 'fiber.status/v1');
    assert.deepEqual([s.step, s.totalSteps, s.samplesPerSec, s.lr], [50, 200, 16, 0.0005]);
    assert.deepEqual(s.losses, { itc: 2.5, mlm: 7.25 });
    assert.deepEqual(s.skipped, { bad_image: 3 });
    assert.equal(s.etaSeconds, 150, '(200-50) steps x 16 samples / 16 samples/s');
    assert.equal(report.queues.stages.waiting, 1);
    assert.deepEqual(report.workers.map((w) => [w.id, w.state, w.tasksDone]), [['w-live', 'busy', 7], ['w-gone', 'lost', 1]]);
  });
});
