import * as tf from '@tensorflow/tfjs';
import { fusionFeatures, itcImageFeature, itcTextFeature, itmLogits, mlmLogits } from './coarse-heads.js';
import { encode, type EncoderMode } from './fiber-encoder.js';
import type { FiberModelConfig } from './model-config.js';
import { DropoutContext } from './ops/nn.js';
import type { ParamTensors } from './params.js';

/**
 * Inference outputs of the coarse model by name (docs/model.md "forward"). B batch, N last-stage
 * image tokens, D their width, L text length, T text width, Hc crossHidden, V vocabulary.
 *   image:  image_embeds [B, N, D], itc_image [B, Hc]
 *   text:   text_embeds [B, L, T], itc_text [B, Hc]
 *   fusion: image_embeds [B, N, D], text_embeds [B, L, T] (fused), itm_logits [B, 2], mlm_logits [B, L, V]
 * No dropout. The caller owns (disposes) the returned tensors.
 */
export function forwardOutputs(
  config: FiberModelConfig, params: ParamTensors,
  inputs: { pixelValues?: tf.Tensor; inputIds?: tf.Tensor; attentionMask?: tf.Tensor }, mode: EncoderMode,
): Map<string, tf.Tensor> {
  return new Map(Object.entries(tf.tidy(() => {
    const drop = new DropoutContext(false, 0);
    const enc = encode(config, params, inputs, mode, drop);
    if (mode === 'image') return { image_embeds: enc.imageTokens!, itc_image: itcImageFeature(params, enc.imageTokens!) };
    if (mode === 'text') return { text_embeds: enc.textTokens!, itc_text: itcTextFeature(params, enc.textTokens!, inputs.attentionMask!) };
    const { textFeats, clsFeats } = fusionFeatures(params, enc.imageTokens!, enc.textTokens!);
    const [b, l] = enc.textTokens!.shape as [number, number];
    const all = Int32Array.from({ length: b * l }, (_, i) => i);
    return {
      image_embeds: enc.imageTokens!, text_embeds: enc.textTokens!,
      itm_logits: itmLogits(params, clsFeats),
      mlm_logits: mlmLogits(params, textFeats, all).reshape([b, l, config.vocabSize]),
    };
  }) as unknown as Record<string, tf.Tensor>));
}
