import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/model/backend.js';
import { withLeanBackprop } from '../../../src/model/ops/lean-backprop.js';
import { SeededRng } from '../../../src/model/seeded-rng.js';

before(async () => {
  await selectBackend();
});

const randn = (seed: number, shape: number[]) => {
  const rng = new SeededRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
};

/** A custom op whose gradient hands dy on unchanged (the same tensor object) as dx. */
const passThrough = tf.customGrad((...args: unknown[]) => {
  const [x] = args as [tf.Tensor];
  return { value: tf.mul(x, 1), gradFunc: (dy) => [dy as tf.Tensor] };
});

/**
 * A graph with what the backward pass must get right: a tensor read by several ops (summed
 * gradients), a multi-output op with an unused output (split), a broadcast, a gradient that is
 * the dy object itself, a tidy inside the forward, and an input with no path to the loss.
 */
function graph(a: tf.Tensor, b: tf.Tensor, unused: tf.Tensor): tf.Tensor {
  const h = tf.tidy(() => tf.tanh(tf.matMul(a, b)));
  const [left, , right] = tf.split(h, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
  const shared = passThrough(tf.mul(left, right));
  const bias = tf.sum(b, 0, true); // [1, 6]: broadcast back over rows
  tf.mul(unused, 2);
  return tf.add(tf.sum(tf.mul(shared, tf.sigmoid(shared))), tf.sum(tf.mul(tf.matMul(a, b), bias)));
}

describe('withLeanBackprop', () => {
  it('gives the same gradients to the bit as tfjs, for tf.grads and variableGrads, and leaves nothing behind', () => {
    const a = randn(1, [5, 4]), b = randn(2, [4, 6]), unused = randn(3, [2]);
    const stock = tf.grads((x: tf.Tensor, y: tf.Tensor) => graph(x, y, unused))([a, b]);
    const before = tf.memory().numTensors;
    const lean = withLeanBackprop(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => graph(x, y, unused))([a, b]));
    assert.equal(tf.memory().numTensors, before + 2, 'only the two gradients are new');
    for (let i = 0; i < 2; i++) assert.deepEqual(lean[i]!.dataSync(), stock[i]!.dataSync(), `gradient ${i}`);

    const va = tf.variable(a), vb = tf.variable(b), vu = tf.variable(unused);
    const stockV = tf.variableGrads(() => graph(va, vb, vu) as tf.Scalar, [va, vb, vu]);
    const leanV = withLeanBackprop(() => tf.variableGrads(() => graph(va, vb, vu) as tf.Scalar, [va, vb, vu]));
    assert.equal(leanV.value.dataSync()[0], stockV.value.dataSync()[0]);
    assert.deepEqual(Object.keys(leanV.grads).sort(), Object.keys(stockV.grads).sort(), 'the unused variable gets no gradient either way');
    for (const k of Object.keys(stockV.grads)) assert.deepEqual(leanV.grads[k]!.dataSync(), stockV.grads[k]!.dataSync(), k);
    tf.dispose([a, b, unused, va, vb, vu, ...stock, ...lean, stockV.value, leanV.value, ...Object.values(stockV.grads), ...Object.values(leanV.grads)]);
  });

  it('keeps a caller-given dy', () => {
    const x = randn(4, [3, 3]), dy = randn(5, [3, 3]);
    const [g] = withLeanBackprop(() => tf.grads((t: tf.Tensor) => passThrough(t))([x], dy));
    assert.equal(dy.isDisposed, false);
    assert.deepEqual(g!.dataSync(), dy.dataSync());
    tf.dispose([x, dy, g!]);
  });

  it('frees gradients and saved tensors along the way: at the end of a long chain it holds a few tensors, not several per op', () => {
    const x = randn(6, [256, 256]); // 256 KB per tensor
    let last = 0;
    // An identity whose gradient notes how much memory the backward pass holds at that point.
    const probe = tf.customGrad((...args: unknown[]) => {
      const [t] = args as [tf.Tensor];
      return { value: tf.mul(t, 1), gradFunc: (dy) => { last = tf.memory().numBytes; return [tf.mul(dy as tf.Tensor, 1)]; } };
    });
    const chain = (t: tf.Tensor) => {
      let h = t;
      for (let i = 0; i < 40; i++) h = probe(tf.sin(h));
      return tf.sum(h);
    };
    const base = tf.memory().numBytes;
    const [gs] = tf.grads(chain)([x]);
    const stockLast = last - base; // at the chain's first op, i.e. the backward pass's last
    const [gl] = withLeanBackprop(() => tf.grads(chain)([x]));
    const leanLast = last - base;
    assert.deepEqual(gl!.dataSync(), gs!.dataSync());
    const mb = 4 * x.size;
    assert.ok(stockLast > 60 * mb, `tfjs holds every step's tensors (${stockLast / mb} tensors' worth)`);
    assert.ok(leanLast < 10 * mb, `the lean pass holds a few (${leanLast / mb} tensors' worth)`);
    tf.dispose([x, gs!, gl!]);
  });

  it('puts tfjs\'s backward pass back afterwards, also after a throw', () => {
    const stock = (tf.engine() as unknown as { gradients: unknown }).gradients;
    assert.throws(() => withLeanBackprop(() => { throw new Error('boom'); }), /boom/);
    withLeanBackprop(() => withLeanBackprop(() => assert.notEqual((tf.engine() as unknown as { gradients: unknown }).gradients, stock)));
    assert.equal((tf.engine() as unknown as { gradients: unknown }).gradients, stock);
  });
});
