import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { encode } from '../../src/model/fiber-encoder.js';
import { modelLayout } from '../../src/model/fusion-layout.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { DropoutContext } from '../../src/model/ops/nn.js';
import { IMAGE_PREFIX } from '../../src/model/param-spec.js';
import { scope } from '../../src/model/params.js';
import { SeededRng } from '../../src/model/seeded-rng.js';
import { swinBlock, windowAttention, type SwinContext, type SwinWindows } from '../../src/model/swin.js';
import { TINY } from './fixtures.js';

/*
 * The fine stage's Swin windowing ('pad', the reference's detection Swin): any H x W, maps padded
 * to the window after norm1 and cropped after the attention, odd blocks always shifted.
 */

before(async () => {
  await selectBackend();
});

const params = () => new Map(FiberModel.init(TINY, 'coarse', 7).params);
const random = (shape: number[], seed: number) => {
  const rng = new SeededRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
};

test("'pad' equals 'fit' when every map is a multiple of the window and larger than it", () => {
  // fiber-tiny's window is 2; at 128 px its stage maps are 32, 16, 8, 4: nothing to pad, every odd block shifts in both.
  const p = params();
  const pixels = random([1, 3, 128, 128], 1);
  const ids = tf.tensor2d([[0, 5, 6, 7, 2, 1]], [1, 6], 'int32');
  const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0]], [1, 6], 'int32');
  const run = (imageWindows: SwinWindows) => encode(TINY, p, { pixelValues: pixels, inputIds: ids, attentionMask: mask, imageWindows }, 'fusion', new DropoutContext(false, 0));
  const fit = run('fit'), pad = run('pad');
  for (let i = 0; i < 3; i++) assert.deepEqual(pad.stageMaps![i]!.dataSync(), fit.stageMaps![i]!.dataSync(), `stage map ${i}`);
  assert.deepEqual(pad.textTokens!.dataSync(), fit.textTokens!.dataSync());
});

test("'pad' runs a non-square image: stage maps at strides 8, 16, 32 of 64 x 96, all finite", () => {
  const p = params();
  const out = encode(TINY, p, {
    pixelValues: random([2, 3, 64, 96], 2), inputIds: tf.tensor2d([[0, 5, 2], [0, 6, 2]], [2, 3], 'int32'),
    attentionMask: tf.ones([2, 3], 'int32'), imageWindows: 'pad',
  }, 'fusion', new DropoutContext(false, 0));
  assert.deepEqual(out.stageMaps!.map((t) => t.shape.slice(1, 3)), [[8, 12], [4, 6], [2, 3]]);
  for (const t of out.stageMaps!) assert.ok(t.dataSync().every(Number.isFinite));
});

test("a 'pad' block on a 3 x 5 map equals a 'fit' block on the map zero-padded to 4 x 6, cropped", () => {
  // With norm1's bias at 0, LayerNorm maps a zero token to zero, so padding before norm1 (the
  // 'fit' side) and after it (the reference, 'pad') give the same attention inputs; the MLP and
  // the residuals act per token, so the real tokens must agree exactly. An odd block: both shift.
  const p = params();
  const name = 'layers.2.blocks.1.norm1.bias'; // stage 3's second block: unfused in fiber-tiny
  p.set(IMAGE_PREFIX + name, tf.zerosLike(p.get(IMAGE_PREFIX + name)!));
  const layout = modelLayout(TINY);
  const ctx = (windows: SwinWindows): SwinContext => ({ config: TINY, layout, windows, p: scope(p, IMAGE_PREFIX), drop: new DropoutContext(false, 0) });
  const c = layout.stageDims[2];
  const x = random([1, 3, 5, c], 3);
  const padded = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]);
  const viaPad = swinBlock(ctx('pad'), x, 2, 1);
  const viaFit = tf.slice(swinBlock(ctx('fit'), padded, 2, 1), [0, 0, 0, 0], [1, 3, 5, c]);
  assert.deepEqual(viaPad.shape, [1, 3, 5, c]);
  const a = viaPad.dataSync(), b = viaFit.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst < 1e-5, `max |difference| ${worst}`);
});

test('window attention split into chunks of windows: the same outputs and q/k/v gradients, the bias gradient to rounding', () => {
  const rng = new SeededRng(21);
  const randn = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  const [w, n, c, heads] = [7, 9, 8, 2];
  const q = randn([w, n, c]), k = randn([w, n, c]), v = randn([w, n, c]), rb = randn([1, heads, n, n]);
  const mask = tf.tidy(() => tf.mul(tf.greater(randn([w, 1, n, n]), 0.8), -100));
  const drop = new DropoutContext(false, 0);
  const run = (budget?: { nodeBytes: number; chunkBytes: number }) =>
    tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor, r: tf.Tensor) => tf.sum(tf.square(windowAttention(a, b, d, r, mask, heads, drop, budget))))([q, k, v, rb]);
  const scoreBytes = 4 * w * heads * n * n;
  const whole = run(), chunked = run({ nodeBytes: scoreBytes - 1, chunkBytes: Math.ceil(scoreBytes / 3) });
  const out = (budget?: { nodeBytes: number; chunkBytes: number }) => tf.tidy(() => windowAttention(q, k, v, rb, mask, heads, drop, budget).dataSync());
  assert.deepEqual(out({ nodeBytes: 0, chunkBytes: 1 }), out(), 'one window per chunk: the same outputs');
  for (let i = 0; i < 3; i++) assert.deepEqual(chunked[i]!.dataSync(), whole[i]!.dataSync(), `q/k/v gradient ${i} is per window`);
  const gc = chunked[3]!.dataSync() as Float32Array, gw = whole[3]!.dataSync() as Float32Array;
  const worst = gw.reduce((m: number, x: number, i: number) => Math.max(m, Math.abs(x - gc[i]!) / (1e-3 + Math.abs(x))), 0);
  assert.ok(worst < 1e-5, `the bias gradient summed per chunk matches to rounding (worst relative error ${worst})`);
  tf.dispose([q, k, v, rb, mask, ...whole, ...chunked]);
});
