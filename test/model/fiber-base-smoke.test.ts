import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { chooseBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { makeCoarseBatch } from './fixtures.js';

/*
 * The paper's model, one coarse training step at micro-batch 1 on the wasm backend (4 GiB heap),
 * with the preset's activation recomputation. The suite's only fiber-base test (about a minute
 * and a half, ~5 GB RSS); timings and the fine step are in bench/model (BENCHMARKS.md).
 */
test('fiber-base: a coarse training step at micro-batch 1 fits the wasm heap and gives finite gradients for every tensor', { timeout: 600_000 }, async () => {
  await chooseBackend('wasm');
  const cfg = MODEL_PRESETS['fiber-base'];
  assert.equal(cfg.recompute, 'blocks');
  const model = FiberModel.init(cfg, 'coarse', 0);
  const before = tf.memory().numTensors;
  try {
    const r = await lossAndGrads(model, makeCoarseBatch(cfg, 1, 40, 3), 1);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
    const trainable = model.specs.filter((s) => s.trainable);
    assert.equal(r.grads.size, trainable.length);
    const reached = trainable.filter((s) => r.grads.get(s.name)!.some((v) => v !== 0)).length;
    for (const [name, g] of r.grads) assert.ok(g.every(Number.isFinite), name);
    // At init the gates are 0, so the weights behind them get exactly zero gradient; with B = 1
    // ITM has no negative. Most tensors still move.
    assert.ok(reached > trainable.length * 0.8, `${reached} of ${trainable.length} tensors got a gradient`);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  } finally {
    model.dispose();
  }
});
