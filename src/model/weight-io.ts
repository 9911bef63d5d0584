import { FiberError } from '../errors/index.js';
import { numel, IMAGE_PREFIX, TEXT_PREFIX, type ParamSpec } from './param-spec.js';
import type { SafeTensor } from './safetensors.js';

/*
 * Moving weights between fiber and reference checkpoints. fiber's own names already are the
 * reference's (FIBER's `vit_model.` + timm Swin, `text_transformer.` + HF RoBERTa, FIBER's
 * head names), so export is by name; importing a plain timm Swin or HF RoBERTa file adds the
 * prefix and ignores the tensors those files carry that FIBER does not use.
 */

/** Where a file comes from: a full fiber/FIBER checkpoint, a timm Swin, or a HF RoBERTa. */
export type WeightSource = 'fiber' | 'timm-swin' | 'hf-roberta';

export interface ImportReport {
  /** Parameter names filled from the file. */
  readonly loaded: string[];
  /** Names of the file skipped on purpose (classifier head, buffers, unused pooler). */
  readonly ignored: string[];
}

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

/** Buffers and heads a timm Swin checkpoint holds that are not parameters of the backbone. */
const TIMM_IGNORED = [/relative_position_index$/, /attn_mask$/, /^head\./];
/** HF RoBERTa entries FIBER does not use: the pooler, the LM head, the position_ids buffer. */
const HF_IGNORED = [/^pooler\./, /^lm_head\./, /position_ids$/];

/**
 * Renames a file's tensors to fiber names. timm >= 0.9 stores PatchMerging at the start of the
 * next stage (`layers.1.downsample` for the first one); those are moved back to the reference
 * layout (`layers.0.downsample`).
 */
function rename(source: WeightSource, file: ReadonlyMap<string, SafeTensor>): { renamed: Map<string, SafeTensor>; ignored: string[] } {
  const renamed = new Map<string, SafeTensor>();
  const ignored: string[] = [];
  if (source === 'fiber') return { renamed: new Map(file), ignored };
  const newTimm = source === 'timm-swin' && !file.has('layers.0.downsample.reduction.weight') && file.has('layers.1.downsample.reduction.weight');
  for (const [name, t] of file) {
    if (source === 'timm-swin') {
      if (TIMM_IGNORED.some((r) => r.test(name))) {
        ignored.push(name);
        continue;
      }
      const fixed = newTimm ? name.replace(/^layers\.(\d+)\.downsample\./, (_m, i: string) => `layers.${Number(i) - 1}.downsample.`) : name;
      renamed.set(IMAGE_PREFIX + fixed, t);
    } else {
      const bare = name.startsWith('roberta.') ? name.slice('roberta.'.length) : name;
      if (HF_IGNORED.some((r) => r.test(bare))) {
        ignored.push(name);
        continue;
      }
      renamed.set(TEXT_PREFIX + bare, t);
    }
  }
  return { renamed, ignored };
}

/**
 * Loads a checkpoint into `weights` (updated in place) by name.
 *   fiber:      every spec name must be present, nothing else
 *   timm-swin:  every image-backbone name must be present; fusion stays as initialised
 *   hf-roberta: every text-backbone name must be present; fusion stays as initialised
 * Any missing, unexpected or wrongly shaped name fails the whole import, listing each by name.
 */
export function importWeights(specs: readonly ParamSpec[], weights: Map<string, Float32Array>, source: WeightSource, file: ReadonlyMap<string, SafeTensor>): ImportReport {
  const { renamed, ignored } = rename(source, file);
  const wanted = specs.filter((s) =>
    source === 'fiber' ? true : source === 'timm-swin' ? s.component === 'image_backbone' : s.component === 'text_backbone');
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const s of wanted) {
    const t = renamed.get(s.name);
    if (!t) missing.push(s.name);
    else if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) mismatched.push(`${s.name} (file [${t.shape.join(', ')}], model [${s.shape.join(', ')}])`);
    else if (!(t.data instanceof Float32Array)) mismatched.push(`${s.name} (dtype ${t.dtype}, expected a float type)`);
  }
  const wantedNames = new Set(wanted.map((s) => s.name));
  const unexpected = [...renamed.keys()].filter((n) => !wantedNames.has(n));
  if (missing.length || mismatched.length || unexpected.length) {
    const parts = [
      missing.length ? `missing: ${missing.join(', ')}` : '',
      unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
      mismatched.length ? `shape mismatch: ${mismatched.join(', ')}` : '',
    ].filter(Boolean);
    throw new FiberError('fiber.model.weights', 'usage', `${source} weights do not fit the model: ${parts.join('; ')}`, { missing, unexpected, mismatched });
  }
  for (const s of wanted) {
    const data = renamed.get(s.name)!.data as Float32Array;
    if (data.length !== numel(s.shape)) throw new Error(`unreachable: ${s.name}`);
    weights.set(s.name, data);
  }
  return { loaded: wanted.map((s) => s.name), ignored };
}
