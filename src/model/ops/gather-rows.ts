import * as tf from '@tensorflow/tfjs';

/**
 * `table[indices]` along axis 0 whose gradient is a `tf.scatterND` (which sums duplicate
 * indices): the stock gather gradient needs UnsortedSegmentSum, which the wasm backend lacks
 * (tfjs-notes §2). Used for embeddings, relative-position bias and masked-position selection.
 */
const gatherCore = tf.customGrad((...args: unknown[]) => {
  const [t, idx, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc]; // [V, D], [N] int32
  save([idx]);
  const tableShape = t.shape;
  return {
    value: tf.gather(t, idx), // [N, D]
    gradFunc: (dy, saved) =>
      tf.tidy(() => {
        const [sidx] = saved as [tf.Tensor1D];
        const g = tf.scatterND(sidx.reshape([-1, 1]), dy as tf.Tensor, tableShape);
        // indices are integer data, not differentiable: a zero gradient keeps tfjs satisfied.
        return [g, tf.zerosLike(sidx)];
      }),
  };
});

/** `table` [V, ...D], `indices` int32 of any shape -> [...indices.shape, ...D]. */
export function gatherRows(table: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  const rowShape = table.shape.slice(1);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const flatIdx = indices.reshape([-1]);
  const out = gatherCore(table.reshape([table.shape[0]!, rowSize]), flatIdx);
  return out.reshape([...indices.shape, ...rowShape]);
}
