import { MODEL_PRESETS, type ModelPresetName } from '../model/model-config.js';
import { DEFAULT_TOKENIZER } from './tokenizer-location.js';

/**
 * Run presets: complete, valid configs that a file and `--set` overrides start from. fiber-base
 * is the paper's recipe (reference §2.3 coarse, §3.4 fine); the smaller presets keep its shape and
 * change only what a single machine needs (sizes, batch, steps, and a higher LR for from-scratch
 * training of small models).
 *
 * The fine stage keeps each image's aspect: shorter side sampled from minSizes, longer side at
 * most maxSize (reference §3.3); fiber-tiny and fiber-small scale the reference's range down.
 *
 * Plain objects (not RunConfig) because they are merged with user input before validation.
 */
export type PresetName = ModelPresetName;

type Plain = Record<string, unknown>;

function coarseOptimizer(totalSteps: number, lr: number): Plain {
  // Reference §2.3: HF AdamW(0.9, 0.98, 1e-8), wd 0.01, lr 1e-5 with x5 for cross-modal and heads,
  // 10% warmup from 0, then linear decay to 0; no gradient clipping (PL default).
  return {
    lr, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.01,
    lrMultFusion: 5, lrMultHead: 5, lrMultText: 1, lrMultBias: 1,
    schedule: 'linear', totalSteps, warmupSteps: null, warmupFraction: 0.1, warmupStartFactor: 0,
    milestones: [], gamma: 0.1, gradClipNorm: 0,
  };
}

function fineOptimizer(totalSteps: number, lr: number, warmup: number): Plain {
  // Reference §3.4: torch AdamW(0.9, 0.999), wd 0.01, BASE_LR 1e-4, LANG_LR 1e-5 (x0.1 for the
  // text backbone), bias LR x2, warmup from factor 0.001, x0.1 at 0.67 and 0.89, clip 1.0.
  return {
    lr, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01,
    lrMultFusion: 1, lrMultHead: 1, lrMultText: 0.1, lrMultBias: 2,
    schedule: 'multistep', totalSteps, warmupSteps: warmup, warmupFraction: 0, warmupStartFactor: 0.001,
    milestones: [0.67, 0.89], gamma: 0.1, gradClipNorm: 1,
  };
}

function preset(name: PresetName, o: {
  coarseBatch: [number, number, number]; fineBatch: [number, number, number];
  coarseSteps: number; fineSteps: number; coarseLr: number; fineLr: number; fineWarmup: number;
  maxTextLen: number; fineMaxTextLen: number; minSizes: number[]; maxSize: number; everySteps: number;
}): Plain {
  const model = MODEL_PRESETS[name];
  const batch = ([globalBatch, microBatch, tasksPerStep]: [number, number, number]) => ({ globalBatch, microBatch, tasksPerStep, staleness: 0 });
  return {
    preset: name,
    seed: 0,
    model: { preset: name, ...model, imageDepths: [...model.imageDepths], imageHeads: [...model.imageHeads] },
    data: {
      tokenizer: DEFAULT_TOKENIZER,
      coarse: { shards: [], weights: [], maxTextLen: o.maxTextLen, mlmProbability: 0.15 },
      fine: { shards: [], weights: [], minSizes: o.minSizes, maxSize: o.maxSize, maxTextLen: o.fineMaxTextLen, flipProbability: 0.5 },
    },
    batch: { coarse: batch(o.coarseBatch), fine: batch(o.fineBatch) },
    optimizer: { coarse: coarseOptimizer(o.coarseSteps, o.coarseLr), fine: fineOptimizer(o.fineSteps, o.fineLr, o.fineWarmup) },
    checkpoint: { uri: './fiber-runs', everySteps: o.everySteps, keepLast: 3 },
    eval: { everySteps: 0, coarseShards: [], fineShards: [], limit: 1000 },
  };
}

const PRESETS: Record<PresetName, () => Plain> = {
  // Paper scale: 4096 = 64 tasks x 8 micro-batches of 8; fine 64 = 64 tasks x 1.
  'fiber-base': () => preset('fiber-base', {
    coarseBatch: [4096, 8, 64], fineBatch: [64, 1, 64], coarseSteps: 100_000, fineSteps: 800_000,
    coarseLr: 1e-5, fineLr: 1e-4, fineWarmup: 2000, maxTextLen: 40, fineMaxTextLen: 256,
    minSizes: [480, 560, 640, 720, 800], maxSize: 1333, everySteps: 2500,
  }),
  'fiber-small': () => preset('fiber-small', {
    coarseBatch: [64, 8, 4], fineBatch: [16, 2, 4], coarseSteps: 5000, fineSteps: 5000,
    coarseLr: 1e-4, fineLr: 1e-4, fineWarmup: 200, maxTextLen: 40, fineMaxTextLen: 64,
    minSizes: [96, 112, 128], maxSize: 213, everySteps: 500,
  }),
  // Coarse LR 1e-4 (x5 for fusion and heads): at 5e-4 the from-scratch dual encoder collapses
  // within 8 steps (every image and caption feature the same, ITC pinned at ln(B) for good); at
  // 1e-4 it learns (docs/decisions.md, "fiber-tiny's coarse learning rate").
  'fiber-tiny': () => preset('fiber-tiny', {
    coarseBatch: [16, 4, 2], fineBatch: [8, 2, 2], coarseSteps: 200, fineSteps: 200,
    coarseLr: 1e-4, fineLr: 5e-4, fineWarmup: 20, maxTextLen: 24, fineMaxTextLen: 32,
    minSizes: [48, 56, 64], maxSize: 107, everySteps: 50,
  }),
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
export const DEFAULT_PRESET: PresetName = 'fiber-base';

/** A fresh, mutable copy of a preset's plain config. */
export function presetConfig(name: PresetName): Plain {
  return PRESETS[name]();
}

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}
