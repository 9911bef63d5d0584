import type { RunConfig } from '../config/run-config.js';
import { DEFAULT_FINE_TRANSFORM, dataStageConfig, type DataStageConfig } from '../data/pipeline/data-stage-config.js';

/**
 * The data layer's stage config for evaluation, from the run config the checkpoint was trained
 * with, so eval sees images and text exactly as training did minus the randomness:
 *  - coarse: the model's square imageSize, the run's maxTextLen, no MLM corruption;
 *  - fine: one scale, the largest training short side (the reference tests at the top of its
 *    multi-scale range, MIN_SIZE_TEST 800), the run's maxSize cap, no flip, each image padded at
 *    the top left of the model's imageSize square as in training (docs/decisions.md, "Fine
 *    stage: image size"). Boxes and predictions are both in that square's pixels.
 * The tokenizer is the run's data.tokenizer, as toDataConfig gives the workers.
 */
export function evalDataConfig(config: RunConfig, stage: 'coarse' | 'fine'): DataStageConfig {
  const s = config.model.imageSize;
  const tokenizer = config.data.tokenizer;
  if (stage === 'coarse') return dataStageConfig('coarse', [], { imageSize: s, maxTextLen: config.data.coarse.maxTextLen, tokenizer, mlm: null });
  const f = config.data.fine;
  return dataStageConfig('fine', [], {
    imageSize: s,
    maxTextLen: f.maxTextLen,
    tokenizer,
    fine: { ...DEFAULT_FINE_TRANSFORM, minSizes: [Math.max(...f.minSizes)], maxSize: f.maxSize, flipProbability: 0, padTo: { height: s, width: s } },
  });
}
