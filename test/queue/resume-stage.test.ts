import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configHash, resolveRunConfig } from '../../src/config/index.js';
import { RunStateError } from '../../src/errors/index.js';
import { cancelRun } from '../../src/queue/cancel-run.js';
import { checkDeletable, deleteRunRecords } from '../../src/queue/delete-run.js';
import { stageJobId } from '../../src/queue/keys.js';
import { recordFromCheckpoints, restoreRun } from '../../src/queue/restore-run.js';
import { resumeStage } from '../../src/queue/resume-stage.js';
import { RunRegistry } from '../../src/queue/run-registry.js';
import { openStageQueue, type StageQueue } from '../../src/queue/stage-queue.js';
import { submitStage, type SubmitRequest } from '../../src/queue/submit-stage.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const config = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.coarse.shards=s3://b/c/{0..3}.tar', 'data.fine.shards=s3://b/f/{0..1}.tar', 'optimizer.coarse.totalSteps=10'] });
const hash = configHash(config);
const request = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({ run: 'r1', stage: 'coarse', config, configHash: hash, init: null, now: new Date('2026-01-01T00:00:00Z'), ...over });
const manifest = (step: number, final: boolean, over: Record<string, unknown> = {}) => ({
  stepDir: `file:///ck/r1/coarse/step-${String(step).padStart(8, '0')}`,
  manifest: { step, configHash: hash, config, init: null, model: final ? { name: 'model.safetensors' } : null, createdAt: '2026-01-02T00:00:00.000Z', ...over },
});

describe('resumeStage / restoreRun / deleteRunRecords (real Redis, real BullMQ)', () => {
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

  it('a cancelled run resumes: cancel mark lifted, coarse queued with its job, the unstarted fine stage waits again', async () => {
    await submitStage(registry, queue, request());
    await submitStage(registry, queue, request({ stage: 'fine' }));
    await cancelRun(registry, queue, 'r1', new Date());
    assert.equal(await queue.getJob(stageJobId('r1', 'coarse', hash)), undefined);

    const out = await resumeStage(registry, redis, queue, 'r1', undefined, new Date());
    assert.deepEqual([out.stage, out.previous, out.fineWaitsAgain], ['coarse', 'cancelled', true]);
    const record = (await registry.get('r1'))!;
    assert.equal(record.cancelledAt, null);
    assert.deepEqual([record.stages.coarse!.state, record.stages.fine!.state], ['queued', 'waiting']);
    assert.equal(record.stages.coarse!.finishedAt, null);
    const job = await queue.getJob(stageJobId('r1', 'coarse', hash));
    assert.equal(await job!.getState(), 'waiting');

    await assert.rejects(resumeStage(registry, redis, queue, 'r1', 'coarse', new Date()), (e: RunStateError) => e.code === 'fiber.run.not_resumable' && /queued/.test(e.message));
    await assert.rejects(resumeStage(registry, redis, queue, 'nope', undefined, new Date()), (e: RunStateError) => e.code === 'fiber.run.unknown');
  });

  it('a failed stage whose job BullMQ kept is re-queued under the same job id', async () => {
    await submitStage(registry, queue, request());
    const id = stageJobId('r1', 'coarse', hash);
    await registry.transition('r1', 'coarse', ['queued'], 'failed', { error: 'boom', finishedAt: new Date().toISOString() });
    const out = await resumeStage(registry, redis, queue, 'r1', 'coarse', new Date());
    assert.deepEqual([out.previous, out.replacedJob], ['failed', true]);
    assert.equal(await (await queue.getJob(id))!.getState(), 'waiting');
    assert.equal((await registry.get('r1'))!.stages.coarse!.error, null);
  });

  it('rebuilds a lost run from its checkpoints: unfinished stages failed (resumable), a final one completed', async () => {
    const now = new Date('2026-02-01T00:00:00Z');
    assert.equal(recordFromCheckpoints('r1', {}, now), null);
    const rebuilt = recordFromCheckpoints('r1', { coarse: manifest(10, true), fine: manifest(4, false) }, now)!;
    assert.equal(rebuilt.configHash, hash);
    assert.deepEqual([rebuilt.stages.coarse!.state, rebuilt.stages.coarse!.checkpoint], ['completed', manifest(10, true).stepDir]);
    assert.equal(rebuilt.stages.fine!.state, 'failed');
    assert.match(rebuilt.stages.fine!.error!, /step 4 of/);
    assert.throws(() => recordFromCheckpoints('r1', { coarse: manifest(10, true), fine: manifest(4, false, { configHash: 'other', config: { ...config, seed: 7 } }) }, now),
      (e: RunStateError) => e.code === 'fiber.run.config_mismatch' && /seed: 0 -> 7/.test(e.message));

    await restoreRun(registry, rebuilt, now);
    const record = (await registry.get('r1'))!;
    assert.deepEqual([record.stages.coarse!.state, record.stages.fine!.state, record.stages.fine!.fields.step], ['completed', 'failed', '4']);
    const out = await resumeStage(registry, redis, queue, 'r1', undefined, now);
    assert.deepEqual([out.stage, out.previous], ['fine', 'failed']);
    const payload = (await queue.getJob(stageJobId('r1', 'fine', hash)))!.data;
    // The coordinator resumes from the fine stage's own latest checkpoint; init only matters without one,
    // and then a fine stage without --init starts from the coarse stage's final checkpoint, as promotion does.
    assert.equal(payload.init, manifest(10, true).stepDir);
  });

  it('delete refuses a queued run unless forced, then removes every key of the run and its job', async () => {
    await submitStage(registry, queue, request());
    await submitStage(registry, queue, request({ run: 'other' }));
    await redis.rpush('fiber:metrics:r1:coarse', '{}');
    const record = (await registry.get('r1'))!;
    assert.throws(() => checkDeletable(record, false), (e: RunStateError) => e.code === 'fiber.run.running' && /fiber cancel r1/.test(e.message));
    checkDeletable(record, true);
    const out = await deleteRunRecords(redis, queue, record);
    assert.deepEqual(out.removedJobs, [stageJobId('r1', 'coarse', hash)]);
    assert.equal(await registry.get('r1'), null);
    assert.deepEqual(await registry.names(), ['other']);
    assert.deepEqual((await redis.keys('*r1*')).filter((k) => !k.startsWith('fiber:stages:events')), []);
  });
});
