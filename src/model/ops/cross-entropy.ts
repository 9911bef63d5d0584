import * as tf from '@tensorflow/tfjs';

/**
 * Mean softmax cross-entropy of `logits` [N, K] against integer `labels` [N], as one customGrad
 * with gradient (softmax - onehot) / N: no gather (whose gradient is missing on wasm) and one
 * log-softmax. N = 0 gives 0, not NaN, so an empty MLM micro-batch contributes nothing.
 * (The rows' labels must lie in [0, K).)
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const n = logits.shape[0]!;
  // No rows, or one class (ITC with B = 1): the loss is exactly 0 and so is its gradient.
  if (n === 0 || logits.shape[1] === 1) return tf.mul(tf.sum(logits), 0) as tf.Scalar;
  return ceCore(logits, labels);
}

const ceCore = tf.customGrad((...args: unknown[]) => {
  const [z, y, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc]; // [N, K], [N]
  const k = z.shape[1]!;
  const n = z.shape[0]!;
  const onehot = tf.oneHot(y, k).asType('float32'); // [N, K]
  const logp = tf.logSoftmax(z); // [N, K]
  const value = tf.div(tf.neg(tf.sum(tf.mul(onehot, logp))), n) as tf.Scalar;
  save([logp, onehot, y]);
  return {
    value,
    gradFunc: (dy, saved) =>
      tf.tidy(() => {
        const [slogp, soh, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const g = tf.mul(tf.div(tf.sub(tf.exp(slogp), soh), n), dy);
        return [g, tf.zerosLike(sy)];
      }),
  };
}) as (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar;
