import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/model/backend.js';
import { recomputed } from '../../../src/model/ops/block-call.js';
import { attention } from '../../../src/model/ops/attention.js';
import { DropoutContext } from '../../../src/model/ops/nn.js';
import { SeededRng } from '../../../src/model/seeded-rng.js';

before(async () => {
  await selectBackend();
});

const randn = (seed: number, shape: number[]) => {
  const rng = new SeededRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
};

const plainGelu = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));

describe('recomputed', () => {
  it('gives the plain composition\'s value and gradients to the bit (GELU after a linear map)', () => {
    const x = randn(1, [6, 5]), w = randn(2, [5, 8]), dy = randn(3, [6, 8]);
    const f = (node: boolean) => (a: tf.Tensor, b: tf.Tensor) => {
      const h = tf.matMul(a, b); // read by the GELU only
      return node ? recomputed(plainGelu, [h]) : plainGelu(h);
    };
    const plain = tf.grads(f(false))([x, w], dy), viaNode = tf.grads(f(true))([x, w], dy);
    assert.deepEqual(tf.tidy(() => f(true)(x, w)).dataSync(), tf.tidy(() => f(false)(x, w)).dataSync());
    for (let i = 0; i < 2; i++) assert.deepEqual(viaNode[i]!.dataSync(), plain[i]!.dataSync());
    tf.dispose([x, w, dy, ...plain, ...viaNode]);
  });

  it('window attention with a broadcast bias and a constant mask: same bits, no gradient for the mask', () => {
    const q = randn(4, [3, 7, 8]), k = randn(5, [3, 7, 8]), v = randn(6, [3, 7, 8]), rb = randn(7, [1, 2, 7, 7]);
    const mask = tf.tidy(() => tf.mul(tf.greater(randn(8, [3, 1, 7, 7]), 1), -100));
    const drop = new DropoutContext(false, 0);
    const plain = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, r: tf.Tensor) => tf.sum(tf.square(attention(a, b, c, 2, tf.add(r, mask), 0, drop))))([q, k, v, rb]);
    const viaNode = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.square(recomputed((qq, kk, vv, rr, m) => attention(qq, kk, vv, 2, tf.add(rr, m!), 0, drop), [a, b, c, r], [mask]))))([q, k, v, rb]);
    for (let i = 0; i < 4; i++) assert.deepEqual(viaNode[i]!.dataSync(), plain[i]!.dataSync(), `gradient ${i}`);
    tf.dispose([q, k, v, rb, mask, ...plain, ...viaNode]);
  });

  it('keeps only its inputs for the backward pass and leaves nothing behind', () => {
    const x = randn(9, [64, 64]);
    // Memory held between the forward and the backward pass, seen from a custom op's gradient.
    let held = 0;
    const probe = tf.customGrad((...args: unknown[]) => {
      const [t] = args as [tf.Tensor];
      return { value: tf.mul(t, 1), gradFunc: (dy) => { held = tf.memory().numTensors; return [tf.mul(dy as tf.Tensor, 1)]; } };
    });
    const run = (node: boolean) => {
      const before = tf.memory().numTensors;
      const [g] = tf.grads((t: tf.Tensor) => tf.sum(probe(node ? recomputed(plainGelu, [t]) : plainGelu(t))))([x]);
      const out = held - before;
      g!.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      return out;
    };
    const plainHeld = run(false), nodeHeld = run(true);
    assert.ok(nodeHeld < plainHeld, `the node holds fewer tensors during the backward pass (${nodeHeld} < ${plainHeld})`);
    x.dispose();
  });
});
