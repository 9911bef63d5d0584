import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { makeCoarseBatch, TINY } from './fixtures.js';
const be = await selectBackend();
console.log(be);
const cfg = process.argv[2] === 'full' ? MODEL_PRESETS['fiber-tiny'] : TINY;
const model = FiberModel.init(cfg, 'coarse', 0);
const batch = makeCoarseBatch(cfg, 8, 16, 1);
for (let i = 0; i < 3; i++) {
  const t = Date.now();
  const r = await lossAndGrads(model, batch, i);
  console.log(Date.now() - t, 'ms', r.loss, r.lossesByObjective, tf.memory().numTensors);
}
