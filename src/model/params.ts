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

/**
 * A getter over exactly `names` (values in the same order): a block run for recomputation must
 * declare every parameter it reads, so reading another one is a bug, reported by name.
 */
export function scopedLookup(names: readonly string[], values: readonly tf.Tensor[]): (name: string) => tf.Tensor {
  const index = new Map(names.map((n, i) => [n, i]));
  return (name) => {
    const i = index.get(name);
    if (i === undefined) throw new FiberError('fiber.model.block_params', 'runtime', `a block read ${name}, which its parameter list does not declare`, { name });
    return values[i]!;
  };
}
