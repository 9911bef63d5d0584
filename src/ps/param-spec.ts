/**
 * What the parameter server needs to know of a model parameter: its name (the reference's, so
 * checkpoints load in PyTorch), shape, and optimizer group. Produced by the model
 * (src/model) for a stage; the PS never imports the model itself.
 */
export type ParamGroup = 'backbone' | 'text' | 'fusion' | 'head';

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Which LR multiplier applies (optimizer.lrMultText / lrMultFusion / lrMultHead; backbone = 1). */
  readonly group: ParamGroup;
  /** Biases, norms, gates and the temperature get no weight decay. */
  readonly noDecay: boolean;
  /** Biases get optimizer.lrMultBias on top of the group multiplier (fine stage: x2). */
  readonly isBias: boolean;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
