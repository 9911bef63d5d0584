import { FiberError } from '../errors/index.js';
import { numel, type ParamSpec } from './param-spec.js';
import type { SafeTensor } from './safetensors.js';

/*
 * Moving weights between fiber and reference checkpoints. fiber's own names already are the
 * reference's (FIBER's `vit_model.` + timm Swin, `text_transformer.` + HF RoBERTa, FIBER's
 * head names), so both directions are by name. Pretrained timm / HF files: import-pretrained.ts.
 */

/** Weights by reference name, PyTorch layout, as float32 safetensors entries (spec order). */
export function exportWeights(specs: readonly ParamSpec[], weights: ReadonlyMap<string, Float32Array>): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const s of specs) {
    const data = weights.get(s.name);
    if (!data) throw new FiberError('fiber.model.weights', 'usage', `cannot export: no value for ${s.name}`, { name: s.name });
    out.set(s.name, { dtype: 'F32', shape: [...s.shape], data });
  }
  return out;
}

/** What a file does not have, has too much of, or has in the wrong shape; empty lists: it fits. */
export interface FitProblems {
  readonly missing: string[];
  readonly unexpected: string[];
  readonly mismatched: string[];
}

/** One error listing every problem by name, so a user fixes a file in one go. */
export function throwIfProblems(what: string, p: FitProblems): void {
  if (!p.missing.length && !p.unexpected.length && !p.mismatched.length) return;
  const parts = [
    p.missing.length ? `missing: ${p.missing.join(', ')}` : '',
    p.unexpected.length ? `unexpected: ${p.unexpected.join(', ')}` : '',
    p.mismatched.length ? `shape mismatch: ${p.mismatched.join(', ')}` : '',
  ].filter(Boolean);
  throw new FiberError('fiber.model.weights', 'usage', `${what} do not fit the model: ${parts.join('; ')}`, { ...p });
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Loads a full fiber/FIBER weights file into `weights` (updated in place) by name: every spec
 * name must be there in its shape as a float tensor, and nothing else.
 */
export function importWeights(specs: readonly ParamSpec[], weights: Map<string, Float32Array>, file: ReadonlyMap<string, SafeTensor>): { loaded: string[] } {
  const problems: FitProblems = { missing: [], unexpected: [], mismatched: [] };
  for (const s of specs) {
    const t = file.get(s.name);
    if (!t) problems.missing.push(s.name);
    else if (!sameShape(t.shape, s.shape)) problems.mismatched.push(`${s.name} (file [${t.shape.join(', ')}], model [${s.shape.join(', ')}])`);
    else if (!(t.data instanceof Float32Array)) problems.mismatched.push(`${s.name} (dtype ${t.dtype}, expected a float type)`);
  }
  const names = new Set(specs.map((s) => s.name));
  problems.unexpected.push(...[...file.keys()].filter((n) => !names.has(n)));
  throwIfProblems('fiber weights', problems);
  for (const s of specs) {
    const data = file.get(s.name)!.data as Float32Array;
    if (data.length !== numel(s.shape)) throw new Error(`unreachable: ${s.name}`);
    weights.set(s.name, data);
  }
  return { loaded: specs.map((s) => s.name) };
}
