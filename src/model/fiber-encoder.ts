import * as tf from '@tensorflow/tfjs';
import type { FiberModelConfig } from './model-config.js';
import { modelLayout } from './fusion-layout.js';
import type { DropoutContext } from './ops/nn.js';
import { IMAGE_PREFIX, TEXT_PREFIX } from './param-spec.js';
import { scope, type ParamTensors } from './params.js';
import { robertaEmbeddings, robertaLayer, textMaskBias, type RobertaContext } from './roberta.js';
import { patchEmbed, patchMerging, swinBlock, swinFinalNorm, type SwinContext } from './swin.js';

/*
 * The FIBER backbone in its three modes (reference §1.2, §1.4). Letters: B batch, L text length,
 * T text width, S image side, N image tokens of the last stage, D its width, H/W/C a stage's grid.
 */

/** image: Swin alone; text: RoBERTa alone (the two together are the dual encoder); fusion: interleaved. */
export type EncoderMode = 'image' | 'text' | 'fusion';

export interface EncoderInputs {
  readonly pixelValues?: tf.Tensor; // [B, 3, S, S] float32
  readonly inputIds?: tf.Tensor; // [B, L] int32
  readonly attentionMask?: tf.Tensor; // [B, L] int32, 1 = token, 0 = pad
  /** Optional pre-gathered word embeddings [B, L, T] for inputIds (see robertaEmbeddings). */
  readonly wordEmbeds?: tf.Tensor;
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
 * Runs the backbone. With both gates at 0 the fusion mode's outputs equal the image and text
 * modes' bit for bit: this implementation applies the final Swin norm and the last text layer's
 * output LayerNorm in every mode, where the reference skips both in fusion mode (quirks (a)/(b)
 * of §1.4; docs/model.md "Deviations").
 */
export function encode(config: FiberModelConfig, params: ParamTensors, inputs: EncoderInputs, mode: EncoderMode, drop: DropoutContext): EncoderOutputs {
  const layout = modelLayout(config);
  const sw: SwinContext = { config, layout, p: scope(params, IMAGE_PREFIX), drop };
  const rb: RobertaContext = { config, p: scope(params, TEXT_PREFIX), drop };
  const hasFinalNorm = params.has(`${IMAGE_PREFIX}norm.weight`);
  const finish = (img: tf.Tensor) => {
    const [b, h, w, c] = img.shape as [number, number, number, number];
    const tokens = img.reshape([b, h * w, c]);
    return hasFinalNorm ? swinFinalNorm(sw, tokens) : tokens;
  };
  const need = (t: tf.Tensor | undefined, what: string): tf.Tensor => {
    if (!t) throw new Error(`encode(${mode}) needs ${what}`);
    return t;
  };

  if (mode === 'text') {
    const ids = need(inputs.inputIds, 'inputIds');
    const maskBias = textMaskBias(need(inputs.attentionMask, 'attentionMask'));
    let t = robertaEmbeddings(rb, ids, inputs.wordEmbeds);
    for (let l = 0; l < config.textLayers; l++) t = robertaLayer(rb, t, maskBias, l);
    return { textTokens: t };
  }

  const stageMaps: tf.Tensor[] = [];
  let img = patchEmbed(sw, need(inputs.pixelValues, 'pixelValues'));
  if (mode === 'image') {
    for (let s = 0; s < 4; s++) {
      for (let j = 0; j < config.imageDepths[s]!; j++) img = swinBlock(sw, img, s, j);
      if (s > 0) stageMaps.push(img);
      if (s < 3) img = patchMerging(sw, img, s);
    }
    return { imageTokens: finish(img), stageMaps };
  }

  // Fusion: stages 1-2 and the unfused stage-3 blocks run alone, as do the lower text layers.
  const ids = need(inputs.inputIds, 'inputIds');
  const maskBias = textMaskBias(need(inputs.attentionMask, 'attentionMask'));
  const firstFused = layout.pairs[0]!;
  for (let s = 0; s < 2; s++) {
    for (let j = 0; j < config.imageDepths[s]!; j++) img = swinBlock(sw, img, s, j);
    if (s > 0) stageMaps.push(img);
    img = patchMerging(sw, img, s);
  }
  const preStage3 = firstFused.stage === 2 ? firstFused.block : config.imageDepths[2];
  for (let j = 0; j < preStage3; j++) img = swinBlock(sw, img, 2, j);
  let text = robertaEmbeddings(rb, ids, inputs.wordEmbeds);
  for (let l = 0; l < layout.numPreTextLayers; l++) text = robertaLayer(rb, text, maskBias, l);

  let downsampled = firstFused.stage === 3;
  if (downsampled) {
    stageMaps.push(img);
    img = patchMerging(sw, img, 2);
  }
  for (const pair of layout.pairs) {
    if (pair.stage === 3 && !downsampled) {
      stageMaps.push(img);
      img = patchMerging(sw, img, 2);
      downsampled = true;
    }
    // Both sides update in parallel from the previous layer's outputs (fiber_module.py:infer).
    const [b, h, w, c] = img.shape as [number, number, number, number];
    const imageMemory = img.reshape([b, h * w, c]); // raw Swin tokens, no LN
    const nextImg = swinBlock(sw, img, pair.stage, pair.block, { tokens: text, maskBias });
    text = robertaLayer(rb, text, maskBias, pair.textLayer, imageMemory);
    img = nextImg;
  }
  stageMaps.push(img);
  return { imageTokens: finish(img), textTokens: text, stageMaps };
}
