import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/model/backend.js';
import { linear } from '../../../src/model/ops/matmul.js';
import { transposedWeight, withWeightTransposes } from '../../../src/model/ops/weight-transposes.js';
import { SeededRng } from '../../../src/model/seeded-rng.js';

before(async () => {
  await selectBackend();
});

const randn = (rng: SeededRng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

describe('withWeightTransposes', () => {
  it('transposes a weight once per scope, shares it with clones, and frees it at the end', () => {
    const w = tf.variable(tf.tensor2d(randn(new SeededRng(1), 12), [3, 4]));
    const before = tf.memory().numTensors;
    withWeightTransposes(() => {
      const a = transposedWeight(w);
      tf.tidy(() => {
        const b = transposedWeight(tf.clone(w) as tf.Tensor2D); // a block's identity copy: same buffer
        assert.equal(a, b);
        assert.deepEqual(a.arraySync(), tf.transpose(w).arraySync());
      });
      assert.equal(a.isDisposed, false, 'a tidy inside the step does not free it');
      assert.equal(tf.memory().numTensors, before + 1);
    });
    assert.equal(tf.memory().numTensors, before, 'the cached transpose is freed with the scope');
    w.dispose();
  });

  it('never serves a weight replaced by assign (a new buffer)', () => {
    const w = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]));
    withWeightTransposes(() => {
      transposedWeight(w);
      w.assign(tf.tensor2d([5, 6, 7, 8], [2, 2]));
      assert.deepEqual(transposedWeight(w).arraySync(), [[5, 7], [6, 8]]);
    });
    w.dispose();
  });

  it('gives linear the same bits and gradients as without the cache', () => {
    const rng = new SeededRng(2);
    const x = tf.tensor2d(randn(rng, 5 * 7), [5, 7]);
    const w = tf.variable(tf.tensor2d(randn(rng, 6 * 7), [6, 7]));
    // The weight used twice, as a fused block is in the ITC, ITM and MLM passes.
    const run = () => tf.variableGrads(() => tf.sum(tf.mul(linear(x, w), linear(tf.mul(x, 2), w))) as tf.Scalar, [w]);
    const plain = run();
    const cached = withWeightTransposes(run);
    assert.deepEqual(cached.value.dataSync(), plain.value.dataSync());
    assert.deepEqual(cached.grads[w.name]!.dataSync(), plain.grads[w.name]!.dataSync());
    tf.dispose([x, w, plain.value, cached.value, ...Object.values(plain.grads), ...Object.values(cached.grads)]);
  });
});
