import type { RunConfig, StageName } from '../config/index.js';
import { DEFAULT_FINE_TRANSFORM, dataStageConfig, type DataStageConfig } from '../data/pipeline/data-stage-config.js';
import { DEFAULT_MLM } from '../data/pipeline/mlm-mask.js';

/** The run config's data section as the data layer's stage config. */
export function toDataConfig(config: RunConfig, stage: StageName): DataStageConfig {
  const d = config.data[stage];
  const datasets = d.shards.map((shards, i) => ({ name: `dataset${i}`, shards: [shards], ...(d.weights[i] !== undefined ? { weight: d.weights[i] } : {}) }));
  if (stage === 'coarse') {
    const c = config.data.coarse;
    return dataStageConfig('coarse', datasets, { imageSize: config.model.imageSize, maxTextLen: c.maxTextLen, tokenizer: config.data.tokenizer, mlm: { ...DEFAULT_MLM, probability: c.mlmProbability } });
  }
  const f = config.data.fine;
  return dataStageConfig('fine', datasets, {
    imageSize: config.model.imageSize, maxTextLen: f.maxTextLen, tokenizer: config.data.tokenizer,
    // The model trains on S x S squares: pad every fine batch to that size.
    fine: { ...DEFAULT_FINE_TRANSFORM, minSizes: [...f.minSizes], maxSize: f.maxSize, flipProbability: f.flipProbability, padTo: { height: config.model.imageSize, width: config.model.imageSize } },
  });
}
