import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/model/backend.js';
import { stopGradient } from '../../../src/model/ops/stop-gradient.js';

before(async () => {
  await selectBackend();
});

test('stopGradient passes values and cuts the gradient: d/dx sum(x * detach(x)) = x, not 2x', () => {
  const x = tf.tensor2d([[1, -2], [3, 0.5]]);
  assert.deepEqual([...stopGradient(x).dataSync()], [...x.dataSync()]);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, stopGradient(a))))(x);
  assert.deepEqual([...g.dataSync()], [1, -2, 3, 0.5]);
  tf.dispose([x, g]);
});
