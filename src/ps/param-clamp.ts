import { numel, type ServerParamSpec } from '../model/param-spec.js';

/**
 * Holds params[start, end) inside [lo, hi], in place. Stored as float32, so the bounds land on
 * their float32 values, as torch's clamp_ of a float32 tensor does. NaN stays NaN, as in torch.
 */
export function clampRange(params: Float32Array, [lo, hi]: readonly [number, number], start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const v = params[i]!;
    if (v < lo) params[i] = lo;
    else if (v > hi) params[i] = hi;
  }
}

/**
 * Clamps every tensor of `flat` (all of a stage's parameters, in spec order) that has a
 * ServerParamSpec.clamp: a stage start from a checkpoint whose value lies outside is held in range
 * before its first forward, as the reference's clamp before each forward would.
 */
export function clampToSpecs(specs: readonly ServerParamSpec[], flat: Float32Array): void {
  let at = 0;
  for (const spec of specs) {
    const n = numel(spec.shape);
    if (spec.clamp) clampRange(flat, spec.clamp, at, at + n);
    at += n;
  }
}
