import { hfRobertaStateDictKeys, hfToReferenceName, type HfRobertaModel } from './hf-roberta-keys.js';
import type { FiberModelConfig } from './model-config.js';
import { IMAGE_PREFIX, paramSpecs, TEXT_PREFIX, type Stage } from './param-spec.js';
import type { SafeTensor } from './safetensors.js';
import type { StateDictKey } from './state-dict-key.js';
import { TIMM_SWIN_LAYOUTS, timmSwinStateDictKeys, timmToReferenceName } from './timm-swin-keys.js';
import { sameShape, throwIfProblems, type FitProblems } from './weight-io.js';

/** A pretrained backbone file: timm's Swin or Hugging Face's RoBERTa, in that library's names. */
export type PretrainedSource = 'timm-swin' | 'hf-roberta';

export interface PretrainedImport {
  /** Which published layout the file matched: timm-0.4 / timm-0.9, masked-lm / base. */
  readonly layout: string;
  /** fiber parameter names filled from the file. */
  readonly loaded: string[];
  /** File tensors skipped on purpose, each with the reason. */
  readonly ignored: Array<{ readonly name: string; readonly reason: string }>;
}

interface Candidate {
  readonly layout: string;
  readonly keys: StateDictKey[];
  readonly toFiber: (name: string) => string;
}

/** The published layouts a file of `source` may have, each with its key list and renaming. */
function candidates(config: FiberModelConfig, source: PretrainedSource, file: ReadonlyMap<string, SafeTensor>): Candidate[] {
  if (source === 'timm-swin') {
    // The classifier's width is whatever the file was trained on (in22k 21841, in1k 1000, none).
    const head = file.get('head.weight') ?? file.get('head.fc.weight');
    const numClasses = head?.shape[0] ?? 0;
    return TIMM_SWIN_LAYOUTS.map((layout) => ({
      layout, keys: timmSwinStateDictKeys(config, { layout, numClasses }), toFiber: (n) => IMAGE_PREFIX + timmToReferenceName(n, layout),
    }));
  }
  const models: HfRobertaModel[] = ['masked-lm', 'base'];
  return models.map((model) => ({
    layout: model,
    // Both savers may or may not have written a pooler: list it, it is optional anyway.
    keys: hfRobertaStateDictKeys(config, { model, pooler: true }),
    toFiber: (n) => TEXT_PREFIX + hfToReferenceName(n),
  }));
}

/**
 * Checks a timm Swin / HF RoBERTa file against the library's published state dict at this
 * model's sizes and loads its backbone into `weights` (updated in place; fusion and heads keep
 * their init, gates at 0, as the reference starts). The layout is the candidate sharing the most
 * names with the file. Every backbone tensor must be present in its shape; a name the library
 * never writes is an error, not skipped: it means a different model or a renamed file. Known
 * buffers and heads are reported as ignored with the reason, and so is a backbone tensor the
 * stage lacks (the fine stage has no final Swin norm).
 */
export function importPretrained(config: FiberModelConfig, stage: Stage, weights: Map<string, Float32Array>, source: PretrainedSource, file: ReadonlyMap<string, SafeTensor>): PretrainedImport {
  const all = candidates(config, source, file);
  const overlap = (c: Candidate) => c.keys.filter((k) => file.has(k.name)).length;
  const best = all.reduce((a, b) => (overlap(b) > overlap(a) ? b : a));
  const specs = new Map(paramSpecs(config, stage).map((s) => [s.name, s]));
  const known = new Map(best.keys.map((k) => [k.name, k]));
  const problems: FitProblems = { missing: [], unexpected: [], mismatched: [] };
  const ignored: Array<{ name: string; reason: string }> = [];
  const load: Array<[string, Float32Array]> = [];
  for (const k of best.keys) {
    const t = file.get(k.name);
    if (!t) {
      if (!k.ignore) problems.missing.push(k.name);
      continue;
    }
    if (!sameShape(t.shape, k.shape)) {
      problems.mismatched.push(`${k.name} (file [${t.shape.join(', ')}], ${source} at this size [${k.shape.join(', ')}])`);
      continue;
    }
    const fiberName = best.toFiber(k.name);
    if (k.ignore) ignored.push({ name: k.name, reason: k.ignore });
    else if (!specs.has(fiberName)) ignored.push({ name: k.name, reason: `not in fiber's ${stage} model (${fiberName})` });
    else if (!(t.data instanceof Float32Array)) problems.mismatched.push(`${k.name} (dtype ${t.dtype}, expected a float type)`);
    else load.push([fiberName, t.data]);
  }
  problems.unexpected.push(...[...file.keys()].filter((n) => !known.has(n)));
  throwIfProblems(`${source} weights (${best.layout} layout)`, problems);
  for (const [name, data] of load) weights.set(name, data);
  return { layout: best.layout, loaded: load.map(([n]) => n), ignored };
}
