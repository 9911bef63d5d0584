import * as tf from '@tensorflow/tfjs';
import { countMatmulFlops } from './flop-counter.js';
import { dropout, type DropoutContext } from './nn.js';

/**
 * Scaled dot-product attention over `heads` heads. Shapes (B = batch or windows):
 *   q [B, Lq, C], k/v [B, Lk, C], bias broadcastable to [B, heads, Lq, Lk] (relative position
 *   bias, shift mask, key padding mask; added before softmax) -> [B, Lq, C].
 * Scores use batched matMul: attention is a small share of the FLOPs at these window and text
 * lengths, and the batched kernel has gradients on every backend.
 */
export function attention(
  q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number,
  bias: tf.Tensor | undefined, dropRate: number, ctx: DropoutContext,
): tf.Tensor {
  const [b, lq, c] = q.shape as [number, number, number];
  const lk = k.shape[1]!;
  const d = c / heads;
  const split = (t: tf.Tensor, l: number) => tf.transpose(t.reshape([b, l, heads, d]), [0, 2, 1, 3]).reshape([b * heads, l, d]);
  const qh = tf.mul(split(q, lq), 1 / Math.sqrt(d)); // [B*h, Lq, d]
  const kh = split(k, lk); // [B*h, Lk, d]
  const vh = split(v, lk); // [B*h, Lk, d]
  countMatmulFlops(2 * b * heads, lq, d, lk); // scores and the weighted sum
  let scores: tf.Tensor = tf.matMul(qh as tf.Tensor3D, kh as tf.Tensor3D, false, true).reshape([b, heads, lq, lk]);
  if (bias) scores = tf.add(scores, bias);
  let probs = tf.softmax(scores); // [B, h, Lq, Lk]
  probs = dropout(probs, dropRate, ctx);
  const out = tf.matMul(probs.reshape([b * heads, lq, lk]) as tf.Tensor3D, vh as tf.Tensor3D); // [B*h, Lq, d]
  return tf.transpose(out.reshape([b, heads, lq, d]), [0, 2, 1, 3]).reshape([b, lq, c]);
}
