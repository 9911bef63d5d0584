import * as tf from '@tensorflow/tfjs';
import type { FiberModelConfig } from './model-config.js';
import { modelLayout, type ModelLayout } from './fusion-layout.js';
import type { DropoutContext } from './ops/nn.js';
import { IMAGE_PREFIX, TEXT_PREFIX } from './param-spec.js';
import { scope, type ParamTensors } from './params.js';
import { robertaEmbeddings, robertaLayer, textMaskBias, type RobertaContext } from './roberta.js';
import { patchEmbed, patchMerging, swinBlock, swinFinalNorm, type SwinContext, type SwinWindows } from './swin.js';

/*
 * The FIBER backbone in its three modes (reference §1.2, §1.4). Letters: B batch, L text length,
 * T text width, S image side, N image tokens of the last stage, D its width, H/W/C a stage's grid.
 */

/** image: Swin alone; text: RoBERTa alone (the two together are the dual encoder); fusion: interleaved. */
export type EncoderMode = 'image' | 'text' | 'fusion';

export interface EncoderInputs {
  readonly pixelValues?: tf.Tensor; // [B, 3, S, S] float32 (fine stage: [B, 3, H, W])
  /** How Swin windows its maps (swin.ts): 'fit' (default, the coarse stage) or 'pad' (the fine stage, any H x W). */
  readonly imageWindows?: SwinWindows;
  readonly inputIds?: tf.Tensor; // [B, L] int32
  readonly attentionMask?: tf.Tensor; // [B, L] int32, 1 = token, 0 = pad
  /** Optional pre-gathered word embeddings [B, L, T] for inputIds (see robertaEmbeddings). */
  readonly wordEmbeds?: tf.Tensor;
  /** Optional precomputed image prefix (encodeImagePrefix); replaces pixelValues. */
  readonly imagePrefix?: ImagePrefix;
  /** Optional precomputed text prefix [B, L, T] (encodeTextPrefix); replaces inputIds/wordEmbeds. */
  readonly textPrefix?: tf.Tensor;
}

export interface EncoderOutputs {
  /** Last-stage image tokens [B, N, D]; after `vit_model.norm` when the params have it (coarse). */
  readonly imageTokens?: tf.Tensor;
  /** Last-layer text hidden states [B, L, T]. */
  readonly textTokens?: tf.Tensor;
  /** Swin stage outputs 1..3 (0-based; strides 8/16/32) as [B, H, W, C] for the fine stage's FPN. */
  readonly stageMaps?: readonly tf.Tensor[];
}

/**
 * Everything the image side computes before the first fused block; it never sees text, so it is
 * the same in every mode and the coarse loss computes it once per image instead of five times.
 */
export interface ImagePrefix {
  /** [B, H, W, C]: the input of the first fused block. */
  readonly tokens: tf.Tensor;
  /** Stage outputs already complete (stride 8, and stride 16 when fusion starts in stage 4). */
  readonly stageMaps: readonly tf.Tensor[];
}

function contexts(config: FiberModelConfig, params: ParamTensors, drop: DropoutContext, windows: SwinWindows = 'fit'): { layout: ModelLayout; sw: SwinContext; rb: RobertaContext } {
  const layout = modelLayout(config);
  return { layout, sw: { config, layout, windows, p: scope(params, IMAGE_PREFIX), drop }, rb: { config, p: scope(params, TEXT_PREFIX), drop } };
}

/** Patch embedding, stages 1-2 and the unfused stage-3 blocks: pixels [B, 3, S, S] (or [B, 3, H, W] with 'pad') -> ImagePrefix. */
export function encodeImagePrefix(config: FiberModelConfig, params: ParamTensors, pixels: tf.Tensor, drop: DropoutContext, windows: SwinWindows = 'fit'): ImagePrefix {
  const { layout, sw } = contexts(config, params, drop, windows);
  const stageMaps: tf.Tensor[] = [];
  let img = patchEmbed(sw, pixels);
  for (let s = 0; s < 2; s++) {
    for (let j = 0; j < config.imageDepths[s]!; j++) img = swinBlock(sw, img, s, j);
    if (s > 0) stageMaps.push(img);
    img = patchMerging(sw, img, s);
  }
  const firstFused = layout.pairs[0]!;
  const preStage3 = firstFused.stage === 2 ? firstFused.block : config.imageDepths[2];
  for (let j = 0; j < preStage3; j++) img = swinBlock(sw, img, 2, j);
  if (firstFused.stage === 3) {
    stageMaps.push(img);
    img = patchMerging(sw, img, 2);
  }
  return { tokens: img, stageMaps };
}

/** Embeddings and the unfused lower text layers: ids/mask [B, L] -> [B, L, T]. */
export function encodeTextPrefix(config: FiberModelConfig, params: ParamTensors, inputIds: tf.Tensor, attentionMask: tf.Tensor, drop: DropoutContext, wordEmbeds?: tf.Tensor): tf.Tensor {
  const { layout, rb } = contexts(config, params, drop);
  const maskBias = textMaskBias(attentionMask);
  let text = robertaEmbeddings(rb, inputIds, wordEmbeds);
  for (let l = 0; l < layout.numPreTextLayers; l++) text = robertaLayer(rb, text, maskBias, l);
  return text;
}

/**
 * Runs the backbone. With both gates at 0 the fusion mode's outputs equal the image and text
 * modes' bit for bit: this implementation applies the final Swin norm and the last text layer's
 * output LayerNorm in every mode, where the reference skips both in fusion mode (quirks (a)/(b)
 * of §1.4; docs/model.md "Deviations").
 */
export function encode(config: FiberModelConfig, params: ParamTensors, inputs: EncoderInputs, mode: EncoderMode, drop: DropoutContext): EncoderOutputs {
  const { layout, sw, rb } = contexts(config, params, drop, inputs.imageWindows);
  const hasFinalNorm = params.has(`${IMAGE_PREFIX}norm.weight`);
  const finish = (img: tf.Tensor) => {
    const [b, h, w, c] = img.shape as [number, number, number, number];
    const tokens = img.reshape([b, h * w, c]);
    return hasFinalNorm ? swinFinalNorm(sw, tokens) : tokens;
  };
  const need = <T>(t: T | undefined, what: string): T => {
    if (t === undefined) throw new Error(`encode(${mode}) needs ${what}`);
    return t;
  };
  const imagePrefix = () => inputs.imagePrefix ?? encodeImagePrefix(config, params, need(inputs.pixelValues, 'pixelValues'), drop, inputs.imageWindows);
  const textPrefix = () => inputs.textPrefix ?? encodeTextPrefix(config, params, need(inputs.inputIds, 'inputIds'), need(inputs.attentionMask, 'attentionMask'), drop, inputs.wordEmbeds);
  const maskBias = () => textMaskBias(need(inputs.attentionMask, 'attentionMask'));

  if (mode === 'text') {
    const bias = maskBias();
    let t = textPrefix();
    for (let l = layout.numPreTextLayers; l < config.textLayers; l++) t = robertaLayer(rb, t, bias, l);
    return { textTokens: t };
  }

  const pre = imagePrefix();
  const stageMaps = [...pre.stageMaps];
  let img = pre.tokens;
  let text = mode === 'fusion' ? textPrefix() : undefined;
  const bias = mode === 'fusion' ? maskBias() : undefined;
  let downsampled = layout.pairs[0]!.stage === 3;
  for (const pair of layout.pairs) {
    if (pair.stage === 3 && !downsampled) {
      stageMaps.push(img);
      img = patchMerging(sw, img, 2);
      downsampled = true;
    }
    if (!text) {
      img = swinBlock(sw, img, pair.stage, pair.block);
      continue;
    }
    // Both sides update in parallel from the previous layer's outputs (fiber_module.py:infer).
    const [b, h, w, c] = img.shape as [number, number, number, number];
    const imageMemory = img.reshape([b, h * w, c]); // raw Swin tokens, no LN
    const nextImg = swinBlock(sw, img, pair.stage, pair.block, { tokens: text, maskBias: bias! });
    text = robertaLayer(rb, text, bias!, pair.textLayer, imageMemory);
    img = nextImg;
  }
  stageMaps.push(img);
  return { imageTokens: finish(img), textTokens: text, stageMaps };
}
