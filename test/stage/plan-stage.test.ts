import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { numel, paramSpecs } from '../../src/model/param-spec.js';
import { planStage } from '../../src/stage/plan-stage.js';

const config = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.coarse.shards=s3://b/{0..1}.tar', 'batch.coarse.globalBatch=12', 'batch.coarse.tasksPerStep=3', 'batch.coarse.microBatch=2'] });

test('planStage: specs in model order, tensors end to end, shard boundaries the only thing numShards changes', () => {
  const one = planStage(config, 'coarse');
  const three = planStage(config, 'coarse', 3);
  assert.deepEqual(one.specs.map((s) => s.name), paramSpecs(config.model, 'coarse').map((s) => s.name));
  let at = 0;
  one.specs.forEach((s, i) => {
    assert.equal(one.layout.tensorStarts[i], at);
    at += numel(s.shape);
  });
  assert.equal(one.layout.totalElements, at);
  assert.deepEqual(three.layout.tensorStarts, one.layout.tensorStarts);
  assert.deepEqual(one.layout.shardStarts, [0, at]);
  assert.equal(three.layout.shardStarts.length, 4);
});

test('planStage: the sample plan and micro-batch are the run config\'s batch section, by its own field names', () => {
  const plan = planStage(config, 'coarse');
  assert.deepEqual(plan.samplePlan, { seed: config.seed, globalBatch: 12, tasksPerStep: 3 });
  assert.equal(plan.microBatch, 2);
  assert.equal(plan.data.datasets.length, 1);
  assert.ok(plan.data.mlm !== null && plan.evalData.mlm === null, 'training masks, eval reads clean text');
  assert.equal(plan.evalData.datasets.length, 0);
});

test('planStage: data.<stage>.sampleChunk reaches the sample plan only when set (unset keeps the plan as it was)', () => {
  const chunked = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.fine.shards=[s3://b/f.tar]', 'data.fine.sampleChunk=4'] });
  assert.equal(planStage(chunked, 'fine').samplePlan.sampleChunk, 4);
  assert.equal('sampleChunk' in planStage(chunked, 'coarse').samplePlan, false);
});
