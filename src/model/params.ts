import * as tf from '@tensorflow/tfjs';
import { FiberError } from '../errors/index.js';

/** The model's weights as tensors by reference name. Forward functions only read it. */
export type ParamTensors = ReadonlyMap<string, tf.Tensor>;

/** Looks up a parameter, naming it when absent (a missing weight is a config/file mismatch). */
export function param(params: ParamTensors, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new FiberError('fiber.model.weights', 'usage', `missing parameter ${name}`, { name });
  return t;
}

/** Scoped getter: `scope(params, 'vit_model.')('norm.weight')`. */
export function scope(params: ParamTensors, prefix: string): (name: string) => tf.Tensor {
  return (name) => param(params, prefix + name);
}
