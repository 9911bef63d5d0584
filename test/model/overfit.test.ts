import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { selectBackend } from '../../src/model/backend.js';
import type { FineBatch, ModelBatch } from '../../src/model/batch.js';
import { anchorBoxes } from '../../src/model/fine-anchors.js';
import { fineLossTargets } from '../../src/model/fine-loss.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import type { Stage } from '../../src/model/param-spec.js';
import { TestAdam } from './adam.js';
import { makeCoarseBatch, makeFineBatch, TINY } from './fixtures.js';

before(async () => {
  await selectBackend();
});

/** Trains on one batch until the loss is at most 20% of its first value (above `floor`), or maxSteps. */
async function overfit(stage: Stage, batch: ModelBatch, lr: number, maxSteps: number, floor = 0): Promise<{ first: number; best: number; steps: number }> {
  const weights = initParams(TINY, stage, 0);
  const model = new FiberModel(TINY, stage, weights);
  const opt = new TestAdam(lr, model.specs);
  let first = NaN, best = Infinity, steps = 0;
  for (; steps < maxSteps; steps++) {
    const r = await lossAndGrads(model, batch, steps);
    if (steps === 0) first = r.loss;
    best = Math.min(best, r.loss);
    if (best - floor <= 0.2 * (first - floor)) break;
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

/** The least the fine loss can reach: its centerness BCE against soft targets cannot go below their entropy. */
function fineLossFloor(batch: FineBatch): number {
  const levels = [8, 16, 32, 64, 128].map((stride) => ({ stride, height: Math.ceil(batch.imageHeight / stride), width: Math.ceil(batch.imageWidth / stride) }));
  const t = fineLossTargets(batch, levels, anchorBoxes(levels, TINY.fineAnchorStrides));
  let h = 0;
  t.centerness.forEach((c, p) => {
    if (t.positive[p] && c > 0 && c < 1) h -= c * Math.log(c) + (1 - c) * Math.log(1 - c);
  });
  return h / Math.max(t.numPositive, 1);
}

test('fiber-tiny overfits one fine batch: token focal + GIoU + centerness fall by at least 80% of what is learnable', async () => {
  // The centerness BCE has a floor (the entropy of its soft targets): 80% of the way to it.
  const batch = makeFineBatch(TINY, 1, 8, 1);
  const floor = fineLossFloor(batch);
  const r = await overfit('fine', batch, 1e-3, 90, floor);
  assert.ok(r.best - floor <= 0.2 * (r.first - floor), `fine loss ${r.first.toFixed(3)} -> ${r.best.toFixed(3)} after ${r.steps} steps; floor ${floor.toFixed(3)}`);
});

/**
 * A batch like the shapes data's: captions share a template and differ in two words (colour,
 * shape), images differ in colour. Pure noise images or fully random captions would not show
 * the ITC collapse this guards against.
 */
function templateBatch(b: number): ModelBatch {
  const base = makeCoarseBatch(TINY, b, 8, 3);
  const l = base.textLength;
  const inputIds = new Int32Array(b * l).fill(1);
  const attentionMask = new Int32Array(b * l);
  for (let i = 0; i < b; i++) {
    // <s> a <colour_i> <shape_i> on the left </s>
    inputIds.set([0, 10, 20 + i, 40 + ((i * 3) % b), 11, 12, 13, 2], i * l);
    attentionMask.fill(1, i * l, (i + 1) * l);
  }
  return { ...base, inputIds, attentionMask, mlmInputIds: inputIds.slice(), mlmLabels: new Int32Array(b * l).fill(-100) };
}

test('fiber-tiny ITC itself overfits one batch of template captions: falls well below ln(B)', async () => {
  // Before the masked-mean text pooling, the <s> feature was the same for every caption at init
  // and the image features collapsed onto it: ITC stayed at exactly ln(4) = 1.386.
  const b = 4;
  const batch = templateBatch(b);
  const weights = initParams(TINY, 'coarse', 0);
  const model = new FiberModel(TINY, 'coarse', weights);
  const opt = new TestAdam(5e-4, model.specs);
  let best = Infinity;
  try {
    for (let step = 0; step < 30 && best > 0.5 * Math.log(b); step++) {
      const r = await lossAndGrads(model, batch, step);
      best = Math.min(best, r.lossesByObjective.itc!);
      opt.step(weights, r.grads);
      model.setParams(weights);
    }
  } finally {
    model.dispose();
  }
  assert.ok(best <= 0.5 * Math.log(b), `ITC best ${best.toFixed(4)} vs ln(${b}) = ${Math.log(b).toFixed(4)}`);
});
