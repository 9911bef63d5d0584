import type { RunConfig, StageName } from '../config/index.js';
import { DEFAULT_FINE_TRANSFORM, dataStageConfig, type DataStageConfig } from '../data/pipeline/data-stage-config.js';
import { DEFAULT_MLM } from '../data/pipeline/mlm-mask.js';

/** What the data is read for: training (the stage's shards, augmentation, MLM) or evaluation. */
export type DataUse = 'train' | 'eval';

/**
 * The run config's data section as the data layer's stage config: the one translation, for the
 * workers (train) and for evaluation (eval), so eval sees images and text exactly as training did
 * minus the randomness. Both take the image side from model.imageSize and the tokenizer from
 * data.tokenizer.
 *  - train: the stage's shards (with their weights); coarse MLM at data.coarse.mlmProbability;
 *    fine multi-scale with flips, every batch padded to the model's S x S square.
 *  - eval: no datasets (the caller reads the held-out shards itself); coarse without MLM
 *    corruption; fine at one scale, the largest training short side (the reference tests at the
 *    top of its multi-scale range, MIN_SIZE_TEST 800), no flip, padded top-left into the square
 *    as in training (docs/decisions.md, "Fine stage: image size"). Boxes and predictions are both
 *    in that square's pixels.
 */
export function stageDataConfig(config: RunConfig, stage: StageName, use: DataUse): DataStageConfig {
  const d = config.data[stage];
  const S = config.model.imageSize;
  const tokenizer = config.data.tokenizer;
  const datasets = use === 'eval' ? [] : d.shards.map((shards, i) => ({ name: `dataset${i}`, shards: [shards], ...(d.weights[i] !== undefined ? { weight: d.weights[i] } : {}) }));
  if (stage === 'coarse') {
    const c = config.data.coarse;
    return dataStageConfig('coarse', datasets, { imageSize: S, maxTextLen: c.maxTextLen, tokenizer, mlm: use === 'eval' ? null : { ...DEFAULT_MLM, probability: c.mlmProbability } });
  }
  const f = config.data.fine;
  const padTo = { height: S, width: S };
  const fine = use === 'eval'
    ? { ...DEFAULT_FINE_TRANSFORM, minSizes: [Math.max(...f.minSizes)], maxSize: f.maxSize, flipProbability: 0, padTo }
    : { ...DEFAULT_FINE_TRANSFORM, minSizes: [...f.minSizes], maxSize: f.maxSize, flipProbability: f.flipProbability, padTo };
  return dataStageConfig('fine', datasets, { imageSize: S, maxTextLen: f.maxTextLen, tokenizer, fine });
}
