import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { selectBackend } from '../../src/model/backend.js';
import type { ModelBatch } from '../../src/model/batch.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import type { Stage } from '../../src/model/param-spec.js';
import { TestAdam } from './adam.js';
import { makeCoarseBatch, makeFineBatch, TINY } from './fixtures.js';

before(async () => {
  await selectBackend();
});

/** Trains on one batch until the loss is at most 20% of its first value, or maxSteps. */
async function overfit(stage: Stage, batch: ModelBatch, lr: number, maxSteps: number): Promise<{ first: number; best: number; steps: number }> {
  const weights = initParams(TINY, stage, 0);
  const model = new FiberModel(TINY, stage, weights);
  const opt = new TestAdam(lr);
  let first = NaN, best = Infinity, steps = 0;
  for (; steps < maxSteps; steps++) {
    const r = await lossAndGrads(model, batch, steps);
    if (steps === 0) first = r.loss;
    best = Math.min(best, r.loss);
    if (best <= 0.2 * first) break;
    opt.step(weights, r.grads);
    model.setParams(weights);
  }
  model.dispose();
  return { first, best, steps };
}

test('fiber-tiny overfits one coarse batch: ITC + ITM + MLM falls by at least 80%', async () => {
  const r = await overfit('coarse', makeCoarseBatch(TINY, 4, 8, 1), 3e-3, 45);
  assert.ok(r.best <= 0.2 * r.first, `coarse loss ${r.first.toFixed(3)} -> ${r.best.toFixed(3)} after ${r.steps} steps`);
});

test('fiber-tiny overfits one fine batch: token focal + GIoU + centerness falls by at least 80%', async () => {
  // The centerness BCE has a floor (the entropy of its soft targets, ~0.6 here), so this needs the
  // token and box terms close to 0.
  const r = await overfit('fine', makeFineBatch(TINY, 1, 8, 1), 1e-3, 90);
  assert.ok(r.best <= 0.2 * r.first, `fine loss ${r.first.toFixed(3)} -> ${r.best.toFixed(3)} after ${r.steps} steps`);
});
