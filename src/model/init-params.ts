import type { FiberModelConfig } from './model-config.js';
import { numel, paramSpecs, TEXT_PREFIX, type ParamSpec, type Stage } from './param-spec.js';
import { deriveSeed, SeededRng } from './seeded-rng.js';

/** RoBERTa's padding id: its word and position embedding rows start at zero (HF padding_idx). */
export const ROBERTA_PAD_ID = 1;

/**
 * Seeded initial weights for every parameter of a stage, in paramSpecs order. Each tensor draws
 * from its own generator seeded by (seed, name), so the bits depend only on the seed and the
 * parameter's name: adding a parameter does not change the others. Linear/embedding weights are
 * normal(0, 0.02) truncated at 2 std, convs of the fine head normal(0, 0.01), norms 1/0, biases 0,
 * gates alpha 0, temperature 0.07, fine bias0 at the 0.01 focal prior. The truncation is fiber's
 * (HF and timm draw an untruncated normal in effect): docs/model.md, "Deviations".
 */
export function initParams(config: FiberModelConfig, stage: Stage, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const spec of paramSpecs(config, stage)) out.set(spec.name, initOne(spec, seed));
  return out;
}

function initOne(spec: ParamSpec, seed: number): Float32Array {
  const data = new Float32Array(numel(spec.shape));
  if (spec.init.kind === 'const') {
    data.fill(spec.init.value);
    return data;
  }
  const rng = new SeededRng(deriveSeed(seed, spec.name));
  if (spec.init.kind === 'uniform') {
    const bound = spec.init.bound;
    for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
    return data;
  }
  const std = spec.init.std;
  for (let i = 0; i < data.length; i++) {
    let z = rng.normal();
    while (z < -2 || z > 2) z = rng.normal();
    data[i] = z * std;
  }
  if (spec.name === `${TEXT_PREFIX}embeddings.word_embeddings.weight` || spec.name === `${TEXT_PREFIX}embeddings.position_embeddings.weight`) {
    const width = spec.shape[1]!;
    data.fill(0, ROBERTA_PAD_ID * width, (ROBERTA_PAD_ID + 1) * width);
  }
  return data;
}
