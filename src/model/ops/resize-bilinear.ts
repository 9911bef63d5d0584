import * as tf from '@tensorflow/tfjs';
import { linear } from './matmul.js';

/**
 * Interpolation matrix of 1-D linear resizing with align_corners=True, [out, in]: output i
 * samples input position i * (in - 1) / (out - 1) (0 when out = 1), as PyTorch computes it.
 */
export function alignCornersMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  for (let i = 0; i < outSize; i++) {
    const src = i * scale;
    const lo = Math.min(Math.floor(src), inSize - 1), hi = Math.min(lo + 1, inSize - 1);
    const frac = src - lo;
    m[i * inSize + lo] = m[i * inSize + lo]! + 1 - frac;
    m[i * inSize + hi] = m[i * inSize + hi]! + frac;
  }
  return m;
}

/**
 * `F.upsample_bilinear(x, size)` (= interpolate(mode='bilinear', align_corners=True)), which
 * DyHead uses to bring the coarser level to this one. Separable, as two 2-D matmuls with
 * constant interpolation matrices: no ResizeBilinearGrad kernel is needed (wasm has none) and
 * the fast matmul path is taken. x [B, h, w, C] -> [B, H, W, C].
 */
export function resizeBilinearAlignCorners(x: tf.Tensor, height: number, width: number): tf.Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  if (h === height && w === width) return x;
  const mx = tf.tensor2d(alignCornersMatrix(w, width), [width, w]); // [W, w]
  const my = tf.tensor2d(alignCornersMatrix(h, height), [height, h]); // [H, h]
  const alongW = linear(tf.transpose(x, [0, 1, 3, 2]), mx); // [B, h, C, W]
  const alongH = linear(tf.transpose(alongW, [0, 3, 2, 1]), my); // [B, W, C, H]
  return tf.transpose(alongH, [0, 3, 1, 2]); // [B, H, W, C]
}
