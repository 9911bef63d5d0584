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
 *    fine multi-scale (shorter side from data.fine.minSizes, longer at most data.fine.maxSize,
 *    aspect kept) with flips, each batch padded to its largest image rounded up to 32.
 *  - eval: no datasets (the caller reads the held-out shards itself); coarse without MLM
 *    corruption; fine at one scale, the largest training short side (the reference tests at the
 *    top of its multi-scale range, MIN_SIZE_TEST 800), no flip, padded as in training. Boxes and
 *    predictions are both in the resized image's pixels.
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
  const fine = use === 'eval'
    ? { ...DEFAULT_FINE_TRANSFORM, minSizes: [Math.max(...f.minSizes)], maxSize: f.maxSize, flipProbability: 0 }
    : { ...DEFAULT_FINE_TRANSFORM, minSizes: [...f.minSizes], maxSize: f.maxSize, flipProbability: f.flipProbability };
  return dataStageConfig('fine', datasets, { imageSize: S, maxTextLen: f.maxTextLen, tokenizer, fine });
}
