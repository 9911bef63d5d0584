import * as tf from '@tensorflow/tfjs';
import { countMatmulFlops } from './flop-counter.js';
import { transposedWeight } from './weight-transposes.js';

/**
 * `a @ b` for 2-D tensors whose forward and backward both issue only 2-D non-transposed
 * `tf.matMul`: on wasm (XNNPACK) that is the one fast matmul; the stock gradient would use
 * transposed matmuls that fall to a scalar loop (tfjs-notes §1).
 */
export const matmul2d: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
  (...args: unknown[]) => {
    const [x, y, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, y]);
    countMatmulFlops(1, x.shape[0], x.shape[1], y.shape[1]);
    return {
      value: tf.matMul(x, y),
      // customGrad's gradFunc runs outside any tidy: wrap it so temporaries are freed.
      gradFunc: (dy, saved) =>
        tf.tidy(() => {
          const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
          const g = dy as tf.Tensor2D;
          return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
        }),
    };
  },
) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * `x W^T` for x [N, in] and W [out, in] (PyTorch layout), with only 2-D non-transposed matmuls:
 *   forward  y  = x @ transpose(W)        (the transposed copy is shared within a step, weight-transposes.ts)
 *   backward dx = dy @ W,  dW = transpose(dy) @ x   (already [out, in]: no transpose back)
 * Keeping W itself (a variable) rather than a transposed copy for the backward pass matters:
 * with a transposed copy per call, weight-sized tensors were most of fiber-small's step memory.
 */
const linearCore = tf.customGrad((...args: unknown[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  countMatmulFlops(1, x.shape[0], x.shape[1], w.shape[0]);
  return {
    value: tf.tidy(() => tf.matMul(x, transposedWeight(w))),
    gradFunc: (dy, saved) =>
      tf.tidy(() => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        // The right-hand operand is a fresh copy of W, freed with this tidy: on wasm, XNNPACK keeps
        // a packed copy of a matmul's right-hand tensor for as long as that tensor's buffer lives,
        // and a weight's lives until the next step assigns it. By the end of fiber-base's backward
        // pass that was a second copy of every weight (1 GB of the 4 GiB heap). x * 1 is exact
        // (signed zeros and NaNs included): the product is the same bits.
        return [tf.matMul(g, tf.mul(sw, 1)), tf.matMul(tf.transpose(g), sx)];
      }),
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * PyTorch `nn.Linear` on the last axis: `x W^T + b` with `W` in PyTorch layout [out, in].
 * Any leading shape is flattened to 2-D so the fast path is taken.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const outDim = weight.shape[0]!;
  const x2 = x.reshape([-1, inDim]) as tf.Tensor2D; // [N, in]
  let y: tf.Tensor = linearCore(x2, weight as tf.Tensor2D); // [N, out]
  if (bias) y = tf.add(y, bias);
  return y.reshape([...x.shape.slice(0, -1), outDim]);
}
