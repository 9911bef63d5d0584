import * as tf from '@tensorflow/tfjs';
import { recomputed } from './block-call.js';
import { concatKeepingNothing } from './concat-keeping-nothing.js';
import type { GradSink } from './grad-sink.js';

/** LayerNorm over the last axis, PyTorch semantics (biased variance). */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const axis = x.shape.length - 1;
  const mean = tf.mean(x, axis, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axis, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), weight), bias);
}

/**
 * Exact (erf) GELU as in PyTorch/HF `gelu`, as a recomputed node (block-call.ts): the backward
 * pass keeps x only, not the four x-sized temporaries. Callers pass a tensor nothing else reads
 * (a linear layer's output), so the gradient is the same bits as the plain composition's.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
  const parts = Math.ceil((4 * x.size) / GELU_CHUNK_BYTES);
  if (parts <= 2) return recomputed(f, [x]);
  // Large inputs in row chunks, one node each, so the replay's temporaries are a chunk's, not
  // the whole map's (six 0.1 GB tensors on fiber-base's 800 x 1088 stage-1 MLP). GELU is
  // elementwise: chunking changes no bit.
  const c = x.shape[x.shape.length - 1]!;
  const rows = x.size / c;
  const n = Math.min(parts, rows);
  const sizes = Array.from({ length: n }, (_, i) => Math.floor((rows * (i + 1)) / n) - Math.floor((rows * i) / n));
  const chunks = tf.split(x.reshape([rows, c]), sizes, 0).map((t) => recomputed(f, [t]));
  return concatKeepingNothing(chunks, 0).reshape(x.shape);
}

/** GELU inputs above two of these run in chunks of about this many bytes. */
const GELU_CHUNK_BYTES = 16 * 2 ** 20;

/**
 * L2-normalise along the last axis (F.normalize, eps 1e-12). Written as x * rsqrt(max(|x|^2, eps^2))
 * so an all-zero row (a padded token) has a zero gradient instead of sqrt'(0) = Inf -> NaN.
 */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-24)));
}

/**
 * Supplies seeds for dropout masks from one explicit step seed, in call order, so a forward
 * pass is a pure function of (params, batch, seed). `training = false` disables all dropout.
 */
export class DropoutContext {
  /**
   * @param gradSink where recomputed blocks put their parameters' gradients (ops/grad-sink.ts);
   *   without one they hand them to the tape, which is correct but holds more memory.
   */
  constructor(readonly training: boolean, private readonly seed: number, readonly gradSink?: GradSink, private counter = 0) {}
  /** A context that will hand out the same seeds as this one from here on (recomputation replays). */
  fork(): DropoutContext {
    return new DropoutContext(this.training, this.seed, this.gradSink, this.counter);
  }
  nextSeed(): number {
    this.counter += 1;
    return (Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(this.counter, 0xc2b2ae35)) >>> 0;
  }
}

/** Inverted dropout with a seeded mask. */
export function dropout(x: tf.Tensor, rate: number, ctx: DropoutContext): tf.Tensor {
  if (!ctx.training || rate <= 0) return x;
  const keep = tf.step(tf.sub(tf.randomUniform(x.shape, 0, 1, 'float32', ctx.nextSeed()), rate)); // 1 with p = 1 - rate
  return tf.mul(x, tf.div(keep, 1 - rate));
}

/** Stochastic depth: drops the whole residual branch per sample (timm DropPath). x: [B, ...]. */
export function dropPath(x: tf.Tensor, rate: number, ctx: DropoutContext): tf.Tensor {
  if (!ctx.training || rate <= 0) return x;
  const maskShape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
  const keep = tf.step(tf.sub(tf.randomUniform(maskShape, 0, 1, 'float32', ctx.nextSeed()), rate));
  return tf.mul(x, tf.div(keep, 1 - rate));
}
