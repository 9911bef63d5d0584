import type { OptimizerConfig } from '../config/index.js';

/**
 * What the parameter server needs to know of a model parameter: a structural subset of the
 * model's ParamSpec (src/model/param-spec.ts), so the PS never imports TensorFlow.js.
 */
export interface ParamSpec {
  /** The reference's name (`vit_model.…`, `text_transformer.…`), so checkpoints load in PyTorch. */
  readonly name: string;
  /** PyTorch layout. */
  readonly shape: readonly number[];
  /** LR group of reference §2.3: backbone x1, fusion x lrMultFusion, head x lrMultHead. */
  readonly group: 'backbone' | 'fusion' | 'head';
  /** Biases, norms, gates, temperature: no weight decay. */
  readonly noDecay: boolean;
  /** False for tensors kept only for the reference's names; never updated. @defaultValue true */
  readonly trainable?: boolean;
  /** [lo, hi] the value is clamped to after each update (the ITC temperature). */
  readonly clamp?: readonly [number, number];
}

export const TEXT_PREFIX = 'text_transformer.';

export { numel } from '../model/param-spec.js';

/**
 * LR multiplier of one parameter: group multiplier, x lrMultText for everything on the text side
 * (the fine recipe's LANG_LR covers the text backbone *and* its cross-attention, reference §3.4),
 * x lrMultBias for biases (fine: BIAS_LR_FACTOR 2). Non-trainable tensors get 0.
 */
export function lrMultiplier(spec: ParamSpec, opt: OptimizerConfig): number {
  if (spec.trainable === false) return 0;
  const group = spec.group === 'fusion' ? opt.lrMultFusion : spec.group === 'head' ? opt.lrMultHead : 1;
  const text = spec.name.startsWith(TEXT_PREFIX) ? opt.lrMultText : 1;
  const bias = spec.name.endsWith('.bias') || spec.name.endsWith('_bias') ? opt.lrMultBias : 1;
  return group * text * bias;
}
