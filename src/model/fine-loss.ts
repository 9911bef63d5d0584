import * as tf from '@tensorflow/tfjs';
import type { FineBatch } from './batch.js';
import type { FiberModelConfig } from './model-config.js';
import type { ParamTensors } from './params.js';

export interface FineLosses {
  readonly token: tf.Scalar;
  readonly reg: tf.Scalar;
  readonly centerness: tf.Scalar;
  readonly total: tf.Scalar;
}

export function fineLosses(_config: FiberModelConfig, _params: ParamTensors, _batch: FineBatch, _seed: number, _training: boolean): FineLosses {
  throw new Error('fine losses: not yet implemented');
}
