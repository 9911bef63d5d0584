import { selectBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { TestAdam } from './adam.js';
import { makeFineBatch, TINY } from './fixtures.js';
await selectBackend();
const weights = initParams(TINY, 'fine', 0);
const model = new FiberModel(TINY, 'fine', weights);
const batch = makeFineBatch(TINY, Number(process.argv[4] ?? 2), 8, 1);
const opt = new TestAdam(Number(process.argv[2] ?? 1e-3));
const t0 = Date.now();
for (let i = 0; i < Number(process.argv[3] ?? 40); i++) {
  const r = await lossAndGrads(model, batch, i);
  if (i % 5 === 0) console.log(i, (Date.now() - t0) / (i + 1), r.loss.toFixed(3), JSON.stringify(r.lossesByObjective));
  opt.step(weights, r.grads);
  model.setParams(weights);
}
for (const n of ['head.log_scale', 'head.bias0']) console.log(n, weights.get(n));
const bl = weights.get('head.bias_lang')!; console.log('bias_lang maxabs', Math.max(...bl.map(Math.abs)));
