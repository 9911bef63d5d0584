import { selectBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { TestAdam } from './adam.js';
import { makeCoarseBatch, TINY } from './fixtures.js';
await selectBackend();
const weights = initParams(TINY, 'coarse', 0);
const model = new FiberModel(TINY, 'coarse', weights);
const batch = makeCoarseBatch(TINY, 4, 8, 1);
const opt = new TestAdam(Number(process.argv[2] ?? 1e-3));
const t0 = Date.now();
for (let i = 0; i < 60; i++) {
  const r = await lossAndGrads(model, batch, i);
  if (i % 5 === 0) console.log(i, (Date.now() - t0) / (i + 1), r.loss.toFixed(3), JSON.stringify(r.lossesByObjective));
  opt.step(weights, r.grads);
  model.setParams(weights);
}
