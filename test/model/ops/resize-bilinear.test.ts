import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { offsetsAt } from '../../../src/model/dyhead.js';
import { selectBackend } from '../../../src/model/backend.js';
import { resizeBilinearAlignCorners } from '../../../src/model/ops/resize-bilinear.js';

before(async () => {
  await selectBackend();
});

test('resizeBilinearAlignCorners equals tf.image.resizeBilinear with alignCorners, and has a gradient', () => {
  const x = tf.randomNormal([2, 3, 2, 4], 0, 1, 'float32', 7);
  const got = resizeBilinearAlignCorners(x, 5, 4).dataSync();
  const want = tf.image.resizeBilinear(x as tf.Tensor4D, [5, 4], true).dataSync();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `[${i}] ${got[i]} vs ${want[i]}`);
  // Every output is a convex combination of inputs: d sum(out) / dx sums to the output count.
  const g = tf.grad((t: tf.Tensor) => tf.sum(resizeBilinearAlignCorners(t, 5, 4)))(x);
  assert.ok(Math.abs(tf.sum(g).dataSync()[0]! - 2 * 5 * 4 * 4) < 1e-3);
});

test('offsetsAt reads a smaller output\'s offsets as the CUDA kernel does: the first values of each sample\'s NCHW buffer', () => {
  // om [1, 2, 2, 27] with value = NCHW flat index c * 4 + y * 2 + x.
  const om = tf.tensor4d(Float32Array.from({ length: 108 }, (_, i) => { const c = i % 27, yx = Math.floor(i / 27); return c * 4 + yx; }), [1, 2, 2, 27]);
  const same = offsetsAt(om, 2, 2);
  assert.deepEqual([...same.offset.dataSync().slice(0, 3)], [0, 4, 8]); // (y, x) = (0, 0): channels 0, 1, 2
  const small = offsetsAt(om, 1, 1);
  // A 1 x 1 output reads offset channel c at flat position c: channel c / 4's plane, entry c % 4.
  assert.deepEqual([...small.offset.dataSync()], Array.from({ length: 18 }, (_, c) => c));
  const mask = small.mask.dataSync();
  assert.ok(Math.abs(mask[3]! - 1 / (1 + Math.exp(-(72 + 3)))) < 1e-6); // mask channel 0 starts at 18 x 4 = 72
});
