import type { RecomputeMode } from './ops/block-call.js';

/**
 * Architecture of one FIBER model: a Swin image backbone and a RoBERTa text backbone with
 * cross-attention in the top `numFusionLayers` layers of each (reference §1.1-1.2). Pure data:
 * the run config (src/config) validates it, the model (src/model) builds from it.
 */
export interface FiberModelConfig {
  /** Swin patch embedding width C (stage i has C * 2^i channels). fiber-base: 128 */
  readonly imageEmbedDim: number;
  /** Swin blocks per stage, 4 stages. fiber-base: [2, 2, 18, 2] */
  readonly imageDepths: readonly [number, number, number, number];
  /** Attention heads per Swin stage. fiber-base: [4, 8, 16, 32] */
  readonly imageHeads: readonly [number, number, number, number];
  /** Square input side in pixels for the coarse stage; window = imageSize / 32. fiber-base: 384 */
  readonly imageSize: number;
  /** Swin MLP hidden = ratio * C. @defaultValue 4 */
  readonly mlpRatio: number;
  /** RoBERTa hidden size. fiber-base: 768 */
  readonly textHidden: number;
  /** RoBERTa layers. fiber-base: 12 */
  readonly textLayers: number;
  /** RoBERTa heads. fiber-base: 12 */
  readonly textHeads: number;
  /** RoBERTa FFN width. fiber-base: 3072 */
  readonly textIntermediate: number;
  /** Vocabulary (RoBERTa byte-level BPE). @defaultValue 50265 */
  readonly vocabSize: number;
  /** Learned positions incl. RoBERTa's padding offset of 2. @defaultValue 514 */
  readonly maxPositions: number;
  /** Fused layer pairs: k-2 top blocks of Swin stage 3 + both of stage 4, with the top k text layers. fiber-base: 6 */
  readonly numFusionLayers: number;
  /** Shared width of the ITC / fusion projections and poolers. fiber-base: 768 */
  readonly crossHidden: number;
  /** FPN and detection-head channels for the fine stage. fiber-base: 256 */
  readonly fpnChannels: number;
  /** Dropout on hidden states and attention probabilities (RoBERTa). @defaultValue 0.1 */
  readonly dropout: number;
  /** Stochastic depth for Swin. coarse 0.1, fine 0.4 in the reference */
  readonly dropPath: number;
  /**
   * Activation recomputation of every Swin block and RoBERTa layer in the backward pass
   * (ops/block-call.ts). Not architecture: it changes memory and time, never a bit of the
   * gradients. fiber-base: blocks; smaller presets: none. @defaultValue 'none'
   */
  readonly recompute?: RecomputeMode;
  /** DyConv layers in the fine head's DyHead tower (reference DYHEAD.NUM_CONVS). fiber-base: 6, small 4, tiny 2. @defaultValue 6 */
  readonly fineTowerDepth?: number;
  /**
   * Side of the fine head's anchors in strides of their level (reference RPN.ANCHOR_SIZES /
   * ANCHOR_STRIDE: 64/8 = 8, i.e. 64-1024 px on P3-P7). fiber-base: 8; small 4; tiny 3, so that
   * anchors fit the 128 / 64 px images and their objects. @defaultValue 8
   */
  readonly fineAnchorStrides?: number;
}

export const MODEL_PRESET_NAMES = ['fiber-tiny', 'fiber-small', 'fiber-base'] as const;
export type ModelPresetName = (typeof MODEL_PRESET_NAMES)[number];

/** Paper size (Swin-B 384 + RoBERTa-base, 6 fused pairs): reference §1.1 and §4. */
const fiberBase: FiberModelConfig = {
  imageEmbedDim: 128, imageDepths: [2, 2, 18, 2], imageHeads: [4, 8, 16, 32], imageSize: 384, mlpRatio: 4,
  textHidden: 768, textLayers: 12, textHeads: 12, textIntermediate: 3072, vocabSize: 50265, maxPositions: 514,
  numFusionLayers: 6, crossHidden: 768, fpnChannels: 256, dropout: 0.1, dropPath: 0.1, recompute: 'blocks', fineTowerDepth: 6, fineAnchorStrides: 8,
};

/** Same topology at a fraction of the width, for single-machine experiments. */
const fiberSmall: FiberModelConfig = {
  ...fiberBase,
  imageEmbedDim: 64, imageDepths: [2, 2, 6, 2], imageHeads: [2, 4, 8, 16], imageSize: 128,
  textHidden: 256, textLayers: 6, textHeads: 4, textIntermediate: 1024, numFusionLayers: 4, crossHidden: 256, fpnChannels: 64,
  recompute: 'none', fineTowerDepth: 4, fineAnchorStrides: 4,
};

/** CPU tests and the demo: a training step in about a second on 2 cores. */
const fiberTiny: FiberModelConfig = {
  ...fiberBase,
  imageEmbedDim: 32, imageDepths: [1, 1, 4, 2], imageHeads: [1, 2, 4, 8], imageSize: 64,
  textHidden: 64, textLayers: 4, textHeads: 2, textIntermediate: 256, numFusionLayers: 4, crossHidden: 64, fpnChannels: 32,
  dropout: 0, dropPath: 0, recompute: 'none', fineTowerDepth: 2, fineAnchorStrides: 3,
};

export const MODEL_PRESETS: Readonly<Record<ModelPresetName, FiberModelConfig>> = {
  'fiber-tiny': fiberTiny,
  'fiber-small': fiberSmall,
  'fiber-base': fiberBase,
};
