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
