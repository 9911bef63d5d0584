import { FiberError } from '../errors/index.js';
import type { FiberModelConfig } from './model-config.js';

/** One fused layer pair: Swin block `stage`/`block` (0-based) runs in parallel with text layer `textLayer`. */
export interface FusedPair {
  readonly stage: 2 | 3;
  readonly block: number;
  readonly textLayer: number;
  /** Width of the Swin tokens at this step: the text side's cross-attention K/V input. */
  readonly imageDim: number;
}

/** Derived sizes every model file needs; computed once from the config and validated. */
export interface ModelLayout {
  /** Channels per Swin stage: C * 2^i. */
  readonly stageDims: readonly [number, number, number, number];
  /** Swin window side: imageSize / 32 (reference §1.1). */
  readonly window: number;
  /** Token grid side per stage at imageSize: imageSize / 4 / 2^i. */
  readonly stageSides: readonly [number, number, number, number];
  /** Fused pairs in execution order: the top (K - d4) blocks of stage 3, then every stage-4 block. */
  readonly pairs: readonly FusedPair[];
  /** Text layers that run before fusion starts (textLayers - K). */
  readonly numPreTextLayers: number;
}

/**
 * The reference hard-codes "k-2 blocks of stage 3 + 2 of stage 4" (§1.2); this is the same rule
 * with the stage-4 depth read from the config, so fiber-base gives stage-3 blocks 14-17 with
 * text layers 6-9 and stage-4 blocks 0-1 with text layers 10-11.
 */
export function modelLayout(config: FiberModelConfig): ModelLayout {
  const c = config.imageEmbedDim;
  const stageDims = [c, 2 * c, 4 * c, 8 * c] as const;
  const k = config.numFusionLayers;
  const [, , d3, d4] = config.imageDepths;
  const bad = (msg: string) => new FiberError('fiber.model.config', 'usage', msg, { field: 'model' });
  if (config.imageSize % 32 !== 0) throw bad(`imageSize ${config.imageSize} must be a multiple of 32 (window = imageSize / 32, four 2x reductions after the 4x patch embedding)`);
  if (k < d4 || k - d4 > d3) throw bad(`numFusionLayers ${k} must cover every stage-4 block (${d4}) and at most ${d3} stage-3 blocks`);
  if (k > config.textLayers) throw bad(`numFusionLayers ${k} exceeds textLayers ${config.textLayers}`);
  config.imageHeads.forEach((h, i) => {
    if (stageDims[i]! % h !== 0) throw bad(`stage ${i} width ${stageDims[i]} is not divisible by its ${h} heads`);
  });
  if (config.textHidden % config.textHeads !== 0) throw bad(`textHidden ${config.textHidden} is not divisible by textHeads ${config.textHeads}`);
  const window = config.imageSize / 32;
  const side0 = config.imageSize / 4;
  const stageSides = [side0, side0 / 2, side0 / 4, side0 / 8] as const;
  const numPre = config.textLayers - k;
  const pairs: FusedPair[] = [];
  for (let i = 0; i < k - d4; i++) pairs.push({ stage: 2, block: d3 - (k - d4) + i, textLayer: numPre + i, imageDim: stageDims[2] });
  for (let i = 0; i < d4; i++) pairs.push({ stage: 3, block: i, textLayer: numPre + (k - d4) + i, imageDim: stageDims[3] });
  return { stageDims, window, stageSides, pairs, numPreTextLayers: numPre };
}
