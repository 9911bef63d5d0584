import * as tf from '@tensorflow/tfjs';
import { recomputed } from './block-call.js';
import { concatKeepingNothing } from './concat-keeping-nothing.js';
import { linear } from './matmul.js';

/**
 * PyTorch Conv2d (padding k//2, stride 1 or 2) on channels-last input, as im2col + the fast 2-D
 * matmul: the wasm backend has no Conv2DBackpropFilter kernel (tfjs-notes §2), and this also
 * keeps the weight in PyTorch layout. x [B, H, W, Cin], weight [Cout, Cin, k, k] (k = 1 or 3)
 * -> [B, ceil(H/stride), ceil(W/stride), Cout]. `recomputeAbove`: column-matrix bytes from which
 * the conv runs as a recomputed node (tests set it).
 */
export function conv2d(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, stride: 1 | 2 = 1, recomputeAbove = RECOMPUTE_COLUMNS_BYTES): tf.Tensor {
  const [b, h, w, cin] = x.shape as [number, number, number, number];
  const k = weight.shape[2]!;
  // A 3x3 conv whose column matrix is large runs as a recomputed node: the backward pass keeps
  // x instead of the columns (0.125 GB on a P3 map at 800 x 1088) and builds them again. Each
  // input is read once inside, so the gradients are the same bits; small convs skip the replay.
  if (k > 1 && 4 * b * h * w * k * k * cin >= recomputeAbove) {
    return recomputed((xx, ww, bb) => conv2dBody(xx, ww, bb, stride), bias ? [x, weight, bias] : [x, weight]);
  }
  // A tidy frees the nine shifted copies and the padded map at once.
  return tf.tidy(() => conv2dBody(x, weight, bias, stride));
}

/** Column matrices from this size up are rebuilt in the backward pass rather than kept (conv2d, deform-conv.ts). */
export const RECOMPUTE_COLUMNS_BYTES = 32 * 2 ** 20;

function conv2dBody(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, stride: 1 | 2): tf.Tensor {
  const [b, h, w, cin] = x.shape as [number, number, number, number];
  const [cout, , k] = weight.shape as [number, number, number, number];
  let y: tf.Tensor;
  if (k === 1) {
    y = linear(x, weight.reshape([cout, cin]), bias);
  } else {
    const r = (k - 1) / 2;
    const padded = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]]);
    const cols: tf.Tensor[] = [];
    for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) cols.push(tf.slice(padded, [0, dy, dx, 0], [b, h, w, cin]));
    // columns ordered (dy, dx, cin): the weight is permuted to [Cout, kh, kw, Cin] to match.
    const wmat = tf.transpose(weight, [0, 2, 3, 1]).reshape([cout, k * k * cin]);
    y = linear(concatKeepingNothing(cols, 3), wmat, bias); // [B, H, W, Cout]
  }
  if (stride === 1) return y;
  // A stride-2 conv with padding k//2 is the stride-1 output at even positions.
  const ho = Math.ceil(h / 2), wo = Math.ceil(w / 2);
  const even = tf.pad(y, [[0, 0], [0, 2 * ho - h], [0, 2 * wo - w], [0, 0]]).reshape([b, ho, 2, wo, 2, cout]);
  return tf.slice(even, [0, 0, 0, 0, 0, 0], [b, ho, 1, wo, 1, cout]).reshape([b, ho, wo, cout]);
}

/** GroupNorm over channels-last [B, H, W, C] with `groups` groups, eps 1e-5. */
export function groupNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, groups: number): tf.Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const g = x.reshape([b, h, w, groups, c / groups]);
  const mean = tf.mean(g, [1, 2, 4], true);
  const centered = tf.sub(g, mean);
  const variance = tf.mean(tf.square(centered), [1, 2, 4], true);
  const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, 1e-5))).reshape([b, h, w, c]);
  return tf.add(tf.mul(normed, weight), bias);
}
