import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { relativePositionIndex, roll2d, shiftedWindowMask, windowPartition, windowReverse } from '../../src/model/swin-windows.js';

before(async () => {
  await selectBackend();
});

test('windowReverse inverts windowPartition, and a window holds a contiguous w x w patch', () => {
  const x = tf.range(0, 2 * 4 * 4 * 1).reshape([2, 4, 4, 1]);
  const win = windowPartition(x, 2); // [2*4, 4, 1]
  assert.deepEqual(win.shape, [8, 4, 1]);
  assert.deepEqual(Array.from(win.slice([0, 0, 0], [1, 4, 1]).dataSync()), [0, 1, 4, 5]);
  assert.deepEqual(Array.from(windowReverse(win, 2, 4, 4).dataSync()), Array.from(x.dataSync()));
});

test('roll2d matches torch.roll on both spatial axes', () => {
  const x = tf.range(0, 9).reshape([1, 3, 3, 1]);
  // torch.roll(x, (-1, -1), (1, 2)): out[i][j] = x[(i+1)%3][(j+1)%3]
  assert.deepEqual(Array.from(roll2d(x, -1).dataSync()), [4, 5, 3, 7, 8, 6, 1, 2, 0]);
  assert.deepEqual(Array.from(roll2d(roll2d(x, -1), 1).dataSync()), Array.from(x.dataSync()));
});

test('relativePositionIndex is timm\'s for a 2x2 window', () => {
  // timm: coords diff + (w-1), index = dh * (2w-1) + dw; the diagonal is the centre row 4.
  assert.deepEqual(Array.from(relativePositionIndex(2)), [4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
});

test('shiftedWindowMask isolates regions that the roll brought together', () => {
  const mask = shiftedWindowMask(4, 4, 2, 1); // 4 windows of 4 tokens
  const win = (k: number) => Array.from(mask.subarray(k * 16, (k + 1) * 16));
  assert.ok(win(0).every((v) => v === 0), 'the top-left window holds one region');
  // the bottom-right window mixes 4 regions: each token attends only to itself.
  const br = win(3);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.equal(br[i * 4 + j], i === j ? 0 : -100);
});
