import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFiberMetrics } from '../../src/ops/metrics.js';
import { sample } from './prometheus-sample.js';

describe('FiberMetrics', () => {
  it('observeStep keeps step time, samples and samples/s consistent', async () => {
    const m = createFiberMetrics({ process: 'ps', labels: { shard: '0' }, nodeMetrics: false });
    m.observeStep('coarse', { durationSeconds: 2, samples: 4096 });
    m.observeStep('coarse', { durationSeconds: 4, samples: 4096 });
    const text = await m.text();
    const labels = { stage: 'coarse', process: 'ps', shard: '0' };
    assert.equal(sample(text, 'fiber_samples_total', labels), 8192);
    assert.equal(sample(text, 'fiber_samples_per_second', labels), 1024, 'the last step');
    assert.equal(sample(text, 'fiber_step_duration_seconds_sum', labels), 6);
    assert.equal(sample(text, 'fiber_step_duration_seconds_count', labels), 2);
    assert.throws(() => m.observeStep('coarse', { durationSeconds: Number.NaN, samples: 1 }), RangeError);
    assert.throws(() => m.observeStep('coarse', { durationSeconds: 1, samples: -1 }), RangeError);
    m.close();
  });

  it('recordTrainingStep sets the run\'s gauges and adds the step time by cause', async () => {
    const m = createFiberMetrics({ process: 'ps', labels: { shard: '0' }, nodeMetrics: false });
    const step = { run: 'r1', stage: 'coarse', totalSteps: 10, lr: 1e-4, samplesPerSec: 4.7, losses: { total: 2.5, itc: Number.NaN } };
    m.recordTrainingStep({ ...step, step: 1, time: { wall: 2, workers: 1, compute: 1, data: 0.5, checkpoint: 0.5, failures: 0 } });
    m.recordTrainingStep({ ...step, step: 2, time: { wall: 2, workers: 1, compute: 1.5, data: 0.5, checkpoint: 0, failures: 0 } });
    const text = await m.text();
    const l = { run: 'r1', stage: 'coarse', process: 'ps', shard: '0' };
    assert.equal(sample(text, 'fiber_train_step', l), 2);
    assert.equal(sample(text, 'fiber_train_total_steps', l), 10);
    assert.equal(sample(text, 'fiber_train_learning_rate', l), 1e-4);
    assert.equal(sample(text, 'fiber_train_samples_per_second', l), 4.7);
    assert.equal(sample(text, 'fiber_train_loss', { ...l, objective: 'total' }), 2.5);
    assert.doesNotMatch(text, /objective="itc"/, 'a NaN loss is left out, not exported as NaN');
    assert.equal(sample(text, 'fiber_goodput_ratio', l), 0.75, 'the last step');
    assert.equal(sample(text, 'fiber_step_time_seconds_total', { ...l, cause: 'compute' }), 2.5);
    assert.equal(sample(text, 'fiber_step_time_seconds_total', { ...l, cause: 'checkpoint' }), 0.5);
    assert.doesNotMatch(text, /cause="(failures|wall|workers)"/);
    m.close();
  });

  it('recordEval and setWorkers', async () => {
    const m = createFiberMetrics({ process: 'worker', nodeMetrics: false });
    m.recordEval('r1', 'coarse', 'retrieval', { i2t_r1: 0.25, r_mean: 0.5 });
    m.setWorkers({ busy: 2, lost: 1 });
    m.setWorkers({ idle: 3 });
    const text = await m.text();
    assert.equal(sample(text, 'fiber_eval_score', { run: 'r1', stage: 'coarse', task: 'retrieval', metric: 'i2t_r1', process: 'worker' }), 0.25);
    const workers = (state: string) => sample(text, 'fiber_workers', { state, process: 'worker' });
    assert.deepEqual([workers('idle'), workers('busy'), workers('lost')], [3, 0, 0], 'states now absent go to 0');
    m.close();
  });

  it('setQueueDepth takes BullMQ job counts', async () => {
    const m = createFiberMetrics({ process: 'ps', nodeMetrics: false });
    m.setQueueDepth('fiber-tasks', { waiting: 12, active: 4, delayed: 0, failed: 1 });
    m.setQueueDepth('fiber-tasks', { waiting: 3 });
    const text = await m.text();
    const depth = (state: string) => sample(text, 'fiber_queue_depth', { queue: 'fiber-tasks', state, process: 'ps' });
    assert.deepEqual([depth('waiting'), depth('active'), depth('delayed'), depth('failed')], [3, 4, 0, 1]);
    m.close();
  });

  it('keeps registries apart: two processes in one test never collide', async () => {
    const a = createFiberMetrics({ process: 'worker', labels: { worker: 'a' }, nodeMetrics: false });
    const b = createFiberMetrics({ process: 'worker', labels: { worker: 'b' }, nodeMetrics: false });
    a.pushBytes.inc({ shard: '1' }, 10);
    assert.equal(sample(await a.text(), 'fiber_push_bytes_total', { shard: '1', process: 'worker', worker: 'a' }), 10);
    assert.doesNotMatch(await b.text(), /fiber_push_bytes_total\{/);
    a.close();
    a.close();
    assert.equal(a.isClosed, true);
    assert.equal(b.isClosed, false);
    b.close();
  });
});
