import type { OptimizerConfig } from '../config/index.js';
import { TEXT_PREFIX, type ServerParamSpec } from '../model/param-spec.js';

/**
 * LR multiplier of one parameter: group multiplier, x lrMultText for everything on the text side
 * (the fine recipe's LANG_LR covers the text backbone *and* its cross-attention, reference §3.4),
 * x lrMultBias for biases (fine: BIAS_LR_FACTOR 2). Non-trainable tensors get 0.
 */
export function lrMultiplier(spec: ServerParamSpec, opt: OptimizerConfig): number {
  if (spec.trainable === false) return 0;
  const group = spec.group === 'fusion' ? opt.lrMultFusion : spec.group === 'head' ? opt.lrMultHead : 1;
  const text = spec.name.startsWith(TEXT_PREFIX) ? opt.lrMultText : 1;
  const bias = spec.name.endsWith('.bias') || spec.name.endsWith('_bias') ? opt.lrMultBias : 1;
  return group * text * bias;
}
