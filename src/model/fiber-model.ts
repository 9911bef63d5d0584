import * as tf from '@tensorflow/tfjs';
import { FiberError } from '../errors/index.js';
import { initParams } from './init-params.js';
import type { FiberModelConfig } from './model-config.js';
import { numel, paramSpecs, type ParamSpec, type Stage } from './param-spec.js';
import type { ParamTensors } from './params.js';

/**
 * A model's weights held as tfjs tensors, one per ParamSpec, for a config and stage. The
 * worker keeps one per process and refreshes it from the parameter server with `setParams`.
 * Call `dispose()` when done (tensors live outside tidy).
 */
export class FiberModel {
  readonly specs: readonly ParamSpec[];
  /** tf.Variables so gradients can be taken with allowNoGradients (tf.variableGrads) and updates are in place. */
  private tensors = new Map<string, tf.Variable>();

  constructor(readonly config: FiberModelConfig, readonly stage: Stage, weights: ReadonlyMap<string, Float32Array>) {
    this.specs = paramSpecs(config, stage);
    this.setParams(weights);
  }

  /** Seeded fresh weights (initParams). */
  static init(config: FiberModelConfig, stage: Stage, seed: number): FiberModel {
    return new FiberModel(config, stage, initParams(config, stage, seed));
  }

  get params(): ParamTensors {
    return this.tensors;
  }

  /** The variable behind a parameter name (for lossAndGrads). */
  variable(name: string): tf.Variable {
    const v = this.tensors.get(name);
    if (!v) throw new FiberError('fiber.model.weights', 'usage', `missing parameter ${name}`, { name });
    return v;
  }

  /**
   * Replaces every weight. `weights` must hold exactly the spec's names with matching sizes;
   * mismatches are reported by name (FiberError 'fiber.model.weights').
   */
  setParams(weights: ReadonlyMap<string, Float32Array>): void {
    checkWeights(this.specs, new Map([...weights].map(([k, v]) => [k, v.length])));
    for (const s of this.specs) {
      const value = tf.tensor(weights.get(s.name)!, [...s.shape], 'float32');
      const current = this.tensors.get(s.name);
      if (current) {
        current.assign(value);
        value.dispose();
      } else {
        // tfjs names variables globally; let it pick unique names so several models can coexist.
        this.tensors.set(s.name, tf.variable(value, s.trainable));
        value.dispose();
      }
    }
  }

  /** Copies of every weight, by name, in spec order. */
  exportParams(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const s of this.specs) out.set(s.name, (this.tensors.get(s.name)!.dataSync() as Float32Array).slice());
    return out;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/** Throws one error listing every missing, unexpected and wrongly sized name. */
export function checkWeights(specs: readonly ParamSpec[], sizes: ReadonlyMap<string, number>): void {
  const missing: string[] = [];
  const mismatched: string[] = [];
  const known = new Set<string>();
  for (const s of specs) {
    known.add(s.name);
    const n = sizes.get(s.name);
    if (n === undefined) missing.push(s.name);
    else if (n !== numel(s.shape)) mismatched.push(`${s.name} (expected ${numel(s.shape)} values [${s.shape.join(', ')}], got ${n})`);
  }
  const unexpected = [...sizes.keys()].filter((k) => !known.has(k));
  if (missing.length || unexpected.length || mismatched.length) {
    const parts = [
      missing.length ? `missing: ${missing.join(', ')}` : '',
      unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
      mismatched.length ? `shape mismatch: ${mismatched.join(', ')}` : '',
    ].filter(Boolean);
    throw new FiberError('fiber.model.weights', 'usage', `weights do not match the model: ${parts.join('; ')}`, { missing, unexpected, mismatched });
  }
}
