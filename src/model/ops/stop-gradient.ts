import * as tf from '@tensorflow/tfjs';

/**
 * x unchanged in the forward, no gradient to x in the backward: torch's `.detach()`. tfjs has no
 * stopGradient op, so this is an identity whose gradient is zeros; any backend runs it (wasm has
 * no kernel of its own to miss). Adding the zeros to x's other gradients changes no bit.
 */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((...args: unknown[]) => {
  const [x] = args as [tf.Tensor];
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;
