import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { itcImageFeature, itcTextFeature } from '../../src/model/coarse-heads.js';
import { coarseBatchTensors } from '../../src/model/coarse-loss.js';
import { encode } from '../../src/model/fiber-encoder.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { DropoutContext } from '../../src/model/ops/nn.js';
import { ITC_TEMP_MAX, ITC_TEMP_MIN } from '../../src/model/param-spec.js';
import { makeCoarseBatch, TINY } from './fixtures.js';

before(async () => {
  await selectBackend();
});

/** -mean log softmax(sim)[i, i]: [B, B] -> []. */
const diagCe = (sim: tf.Tensor2D) => tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(sim), tf.eye(sim.shape[0])))), sim.shape[0]);
const relErr = (a: Float32Array, b: Float32Array) => {
  let num = 0, den = 0;
  a.forEach((v, i) => { num = Math.max(num, Math.abs(v - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); });
  return num / den;
};

test('ITC as the reference: each direction scores its features against a detached copy of the other side', async () => {
  assert.equal(TINY.dropout + TINY.dropPath, 0, 'no randomness in the features');
  const model = FiberModel.init(TINY, 'coarse', 3);
  const batch = makeCoarseBatch(TINY, 3, 8, 11);
  const r = await lossAndGrads(model, batch, 1);

  // Independently: only ITC reads the *_itc tensors, so their gradient in the total loss is the
  // ITC one. Image side: (1/2) d CE(fi ft'/temp) / d image_itc with ft a constant; text side alike.
  const { pixels, ids, mask } = coarseBatchTensors(batch);
  const drop = new DropoutContext(false, 0);
  const p = model.params;
  const temp = p.get('temp')!;
  const fiOf = () => itcImageFeature(p, encode(TINY, p, { pixelValues: pixels }, 'image', drop).imageTokens!) as tf.Tensor2D;
  const ftOf = () => itcTextFeature(p, encode(TINY, p, { inputIds: ids, attentionMask: mask }, 'text', drop).textTokens!, mask) as tf.Tensor2D;
  const fi0 = tf.tidy(fiOf), ft0 = tf.tidy(ftOf);
  const i2t = (fi: tf.Tensor2D, ft: tf.Tensor2D) => diagCe(tf.div(tf.matMul(fi, ft, false, true), temp) as tf.Tensor2D);
  const names = (side: string) => model.specs.map((s) => s.name).filter((n) => n.startsWith(`cross_modal_${side}_`) && n.split('.')[0]!.endsWith('_itc'));
  const gradsOf = async (side: string, loss: () => tf.Tensor) => {
    const { value, grads } = tf.variableGrads(loss as () => tf.Scalar, names(side).map((n) => model.variable(n)));
    const out = new Map(await Promise.all(names(side).map(async (n) => [n, await grads[model.variable(n).name]!.data() as Float32Array] as const)));
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  const detachedImage = await gradsOf('image', () => tf.div(i2t(fiOf(), ft0), 2));
  const detachedText = await gradsOf('text', () => tf.div(i2t(ftOf(), fi0), 2));
  const bothImage = await gradsOf('image', () => { const fi = fiOf(); return tf.div(tf.add(i2t(fi, ft0), i2t(ft0, fi)), 2); });
  for (const [n, g] of [...detachedImage, ...detachedText]) {
    assert.ok(relErr(r.grads.get(n)!, g) < 1e-3, `${n}: ${relErr(r.grads.get(n)!, g)}`);
  }
  // The check can tell the two apart: differentiating both sides gives another image gradient.
  for (const [n, g] of bothImage) assert.ok(relErr(r.grads.get(n)!, g) > 0.05, `${n} differs from the both-sides gradient`);
  tf.dispose([pixels, ids, mask, fi0, ft0]);
  model.dispose();
});

test('the temperature gets a gradient at its bounds and just past them (no clamp inside the graph)', async () => {
  const batch = makeCoarseBatch(TINY, 3, 8, 11);
  // Just past a bound is where a clamp in the forward froze it for good; the shard never stores
  // such a value now (test/ps/param-clamp.test.ts), but the forward must not depend on that.
  for (const t of [ITC_TEMP_MAX, ITC_TEMP_MIN, 1.001, 0.00099]) {
    const weights = initParams(TINY, 'coarse', 3);
    weights.get('temp')![0] = t;
    const model = new FiberModel(TINY, 'coarse', weights);
    const r = await lossAndGrads(model, batch, 1);
    model.dispose();
    const g = r.grads.get('temp')![0]!;
    assert.ok(Number.isFinite(g) && Math.abs(g) > 0, `temp ${t}: gradient ${g}`);
  }
});
