import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochCounts, permute, planTask, slotRange, type SamplePlanConfig } from '../../../src/data/pipeline/sample-plan.js';

test('permute is a bijection on [0, n) for awkward n', () => {
  for (const n of [1, 2, 3, 7, 64, 100, 1000, 4097]) {
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) seen.add(permute(i, n, 12345));
    assert.equal(seen.size, n, `n=${n}`);
    for (const v of seen) assert.ok(v >= 0 && v < n);
  }
});

/** Every (dataset, sample) read in steps [from, to) with T slots. */
function readSteps(sizes: number[], config: SamplePlanConfig, from: number, to: number, weights?: number[]) {
  const out = [];
  for (let v = from; v < to; v++) for (let t = 0; t < config.tasksPerStep; t++) out.push(...planTask(sizes, weights, config, v, t));
  return out;
}

test('every sample exactly once per epoch, across batches that straddle epochs', () => {
  const sizes = [37, 60]; // E = 97, prime, so no batch size divides it
  const config = { seed: 7, globalBatch: 8, tasksPerStep: 3 };
  const reads = readSteps(sizes, config, 0, Math.ceil((97 * 3) / 8) + 1);
  for (const epoch of [0, 1, 2]) {
    const ids = reads.filter((r) => r.epoch === epoch).map((r) => `${r.dataset}:${r.sample}`);
    assert.equal(ids.length, 97, `epoch ${epoch} has every item`);
    assert.equal(new Set(ids).size, 97, `epoch ${epoch} has no duplicate`);
  }
});

test('the global batch is the same for any number of slots, and slots split it in order', () => {
  const sizes = [500];
  const perStep = (T: number) => [0, 1, 9, 63].map((v) => readSteps(sizes, { seed: 3, globalBatch: 24, tasksPerStep: T }, v, v + 1).map((r) => r.sample));
  const one = perStep(1);
  for (const T of [2, 3, 5, 8, 24]) assert.deepEqual(perStep(T), one, `T=${T}`);
  assert.deepEqual(slotRange({ seed: 0, globalBatch: 10, tasksPerStep: 3 }, 2), { start: 6, end: 10 });
});

test('resume at step v replays nothing and skips nothing', () => {
  const sizes = [123];
  const config = { seed: 11, globalBatch: 10, tasksPerStep: 2 };
  const straight = readSteps(sizes, config, 0, 40);
  const resumed = [...readSteps(sizes, config, 0, 17), ...readSteps(sizes, config, 17, 40)];
  assert.deepEqual(resumed, straight);
});

test('epochs reshuffle and seeds differ; weights up- and down-sample', () => {
  const config = { seed: 1, globalBatch: 50, tasksPerStep: 1 };
  const e0 = planTask([50], undefined, config, 0, 0).map((r) => r.sample);
  const e1 = planTask([50], undefined, config, 1, 0).map((r) => r.sample);
  assert.notDeepEqual(e0, e1);
  assert.deepEqual([...e0].sort((a, b) => a - b), [...e1].sort((a, b) => a - b));
  assert.notDeepEqual(planTask([50], undefined, { ...config, seed: 2 }, 0, 0).map((r) => r.sample), e0);
  assert.deepEqual(epochCounts([10, 40], [2, 0.5]), [20, 20]);
  const reads = readSteps([10, 40], { seed: 5, globalBatch: 40, tasksPerStep: 4 }, 0, 1, [2, 0.5]);
  const d0 = reads.filter((r) => r.dataset === 0).map((r) => r.sample);
  const d1 = reads.filter((r) => r.dataset === 1).map((r) => r.sample);
  assert.equal(d0.length, 20);
  for (let s = 0; s < 10; s++) assert.equal(d0.filter((x) => x === s).length, 2, 'weight 2 reads each sample twice');
  assert.equal(new Set(d1).size, 20, 'weight 0.5 reads half, no repeats');
});

test('bad plan configs are usage errors naming the field', () => {
  assert.throws(() => planTask([10], undefined, { seed: 0, globalBatch: 4, tasksPerStep: 5 }, 0, 0), RangeError);
  assert.throws(() => planTask([0], undefined, { seed: 0, globalBatch: 4, tasksPerStep: 1 }, 0, 0), { field: 'data.shards' });
});

test('sampleChunk keeps exactly-once per epoch and gives each task runs of neighbouring samples', () => {
  for (const c of [4, 16, 200]) {
    const config = { seed: 9, globalBatch: 32, tasksPerStep: 2, sampleChunk: c };
    const reads = readSteps([37, 60], config, 0, 10);
    for (const epoch of [0, 1]) {
      const ids = reads.filter((r) => r.epoch === epoch).map((r) => `${r.dataset}:${r.sample}`);
      assert.equal(new Set(ids).size, 97, `c=${c} epoch ${epoch}: every item once`);
      assert.equal(ids.length, 97);
    }
  }
  const sizes = [10_000];
  const config = { seed: 3, globalBatch: 4096, tasksPerStep: 64, sampleChunk: 16 };
  for (const slot of [0, 17, 63]) {
    const task = planTask(sizes, undefined, config, 5, slot).map((r) => r.sample);
    const chunks = new Set(task.map((s) => Math.floor(s / 16)));
    assert.equal(task.length, 64);
    assert.ok(chunks.size <= 5, `slot ${slot}: 64 samples from ${chunks.size} chunks of 16`);
  }
  // 1 is the plain shuffle, bit for bit (runs that never set it keep their data order).
  const plain = { seed: 3, globalBatch: 64, tasksPerStep: 4 };
  assert.deepEqual(readSteps([500], { ...plain, sampleChunk: 1 }, 0, 3), readSteps([500], plain, 0, 3));
  assert.throws(() => planTask([10], undefined, { ...plain, sampleChunk: 0 }, 0, 0), RangeError);
});
