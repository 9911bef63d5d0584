import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { chooseBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { makeCoarseBatch, makeFineBatch, TINY } from './fixtures.js';

// node --test runs each file in its own process, so forcing cpu here leaves the others on wasm.
before(async () => {
  await chooseBackend('cpu');
});

test('on the pure-JS cpu backend every op has a gradient: coarse and fine steps give finite, non-zero grads', async () => {
  assert.equal(tf.getBackend(), 'cpu');
  for (const stage of ['coarse', 'fine'] as const) {
    const weights = initParams(TINY, stage, 3);
    for (const [n, d] of weights) if (/alpha_(i2t|t2i)$/.test(n)) d[0] = 0.3;
    const model = new FiberModel(TINY, stage, weights);
    const batch = stage === 'coarse' ? makeCoarseBatch(TINY, 2, 6, 4) : makeFineBatch(TINY, 1, 6, 4);
    const r = await lossAndGrads(model, batch, 0);
    model.dispose();
    assert.ok(Number.isFinite(r.loss), stage);
    for (const [n, g] of r.grads) assert.ok(g.every(Number.isFinite), `${stage} ${n}`);
    const reached = [...r.grads.values()].filter((g) => g.some((v) => v !== 0)).length;
    // a fine batch with one box cannot reach every FPN level's scale; the coarse step reaches all
    if (stage === 'coarse') assert.equal(reached, r.grads.size);
    else assert.ok(reached >= r.grads.size - 4, `${reached}/${r.grads.size}`);
  }
});
