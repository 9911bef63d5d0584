import * as tf from '@tensorflow/tfjs';

/**
 * tf.concat whose backward pass keeps nothing: tfjs's Concat gradient saves every input only to
 * read their shapes, so a 3x3 conv kept its nine shifted copies as well as the column matrix the
 * matmul saves (0.25 GB per conv on a P3 map at 800 x 1088). The gradient is tfjs's, split(dy).
 */
export function concatKeepingNothing(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
  const sizes = xs.map((t) => t.shape[axis]!);
  const op = tf.customGrad((...args: unknown[]) => {
    const parts = args.slice(0, -1) as tf.Tensor[];
    return { value: tf.concat(parts, axis), gradFunc: (dy) => tf.split(dy as tf.Tensor, sizes, axis) };
  });
  return op(...xs);
}
