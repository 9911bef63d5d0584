import * as tf from '@tensorflow/tfjs';
import { gatherRows } from './ops/gather-rows.js';
import { linear } from './ops/matmul.js';
import { gelu, l2Normalize, layerNorm } from './ops/nn.js';
import { param, type ParamTensors } from './params.js';

/*
 * FIBER's coarse heads (fiber_module.py, heads.py; reference §1.4-1.5).
 * Letters: B batch, L text length, T text width, N image tokens, D image width, Hc crossHidden,
 * M masked positions, V vocabulary.
 */

/**
 * The MLM head's LayerNorm eps. fiber_module.py builds heads.MLMHead (BertPredictionHeadTransform)
 * from a RobertaConfig that sets no layer_norm_eps, so it is transformers' default 1e-12; only
 * the pretrained text backbone has roberta-base's 1e-5.
 */
const MLM_LN_EPS = 1e-12;

function dense(params: ParamTensors, name: string, x: tf.Tensor): tf.Tensor {
  return linear(x, param(params, `${name}.weight`), params.get(`${name}.bias`));
}

/** Row 0 of every sequence: [B, L, X] -> [B, X]. */
function firstToken(x: tf.Tensor): tf.Tensor {
  const [b, , d] = x.shape as [number, number, number];
  return tf.slice(x, [0, 0, 0], [b, 1, d]).reshape([b, d]);
}

/** Dual-encoder image feature: transform_itc, average pool, pooler_itc (dense+tanh), L2. [B, N, D] -> [B, Hc]. */
export function itcImageFeature(params: ParamTensors, imageTokens: tf.Tensor): tf.Tensor {
  const feats = dense(params, 'cross_modal_image_transform_itc', imageTokens); // [B, N, Hc]
  return l2Normalize(tf.tanh(dense(params, 'cross_modal_image_pooler_itc.dense', tf.mean(feats, 1))));
}

/**
 * Masked mean over the valid text positions: [B, L, X], attentionMask [B, L] (1 = token) -> [B, X].
 */
function maskedMean(x: tf.Tensor, attentionMask: tf.Tensor): tf.Tensor {
  const m = attentionMask.asType('float32').expandDims(2); // [B, L, 1]
  return tf.div(tf.sum(tf.mul(x, m), 1), tf.maximum(tf.sum(m, 1), 1)); // [B, X]
}

/**
 * Dual-encoder text feature: transform_itc, masked mean over tokens, pooler_itc (dense+tanh), L2.
 * [B, L, T], attentionMask [B, L] -> [B, Hc].
 * Deviation (docs/model.md): the reference pools token 0 (<s>). That works from a pretrained
 * RoBERTa, whose <s> output is contextual; from a fresh init (std 0.02) the <s> output barely
 * depends on the caption (fiber-tiny: cross-sample spread 0.7% of its magnitude), the text ITC
 * features are then the same for every caption, and the contrastive loss is minimised by
 * collapsing the image features onto them too: ITC sits at exactly ln(B) and never recovers.
 * The masked mean sees every word from step 0. Same parameters, names and shapes.
 */
export function itcTextFeature(params: ParamTensors, textTokens: tf.Tensor, attentionMask: tf.Tensor): tf.Tensor {
  const feats = dense(params, 'cross_modal_text_transform_itc', textTokens); // [B, L, Hc]
  return l2Normalize(tf.tanh(dense(params, 'cross_modal_text_pooler_itc.dense', maskedMean(feats, attentionMask))));
}

/** Fusion-mode features: text_feats [B, L, Hc], image_feats [B, N, Hc], cls_feats [B, 2Hc]. */
export function fusionFeatures(params: ParamTensors, imageTokens: tf.Tensor, textTokens: tf.Tensor): { textFeats: tf.Tensor; imageFeats: tf.Tensor; clsFeats: tf.Tensor } {
  const textFeats = dense(params, 'cross_modal_text_transform', textTokens);
  const imageFeats = dense(params, 'cross_modal_image_transform', imageTokens);
  const clsText = tf.tanh(dense(params, 'cross_modal_text_pooler.dense', firstToken(textFeats)));
  const clsImage = tf.tanh(dense(params, 'cross_modal_image_pooler.dense', tf.mean(imageFeats, 1)));
  return { textFeats, imageFeats, clsFeats: tf.concat([clsText, clsImage], 1) };
}

/** ITM logits (0 = no match, 1 = match): [B, 2Hc] -> [B, 2]. */
export function itmLogits(params: ParamTensors, clsFeats: tf.Tensor): tf.Tensor {
  return dense(params, 'itm_score.fc', clsFeats);
}

/**
 * MLM logits at the given flat positions only (tfjs-notes §6: the vocabulary would otherwise
 * dominate the step). textFeats [B, L, Hc], positions [M] indices into B*L -> [M, V].
 * Pass every position to get full logits (the `forward` command does).
 */
export function mlmLogits(params: ParamTensors, textFeats: tf.Tensor, positions: Int32Array): tf.Tensor {
  const hc = textFeats.shape[2]!;
  const rows = gatherRows(textFeats.reshape([-1, hc]), tf.tensor1d(positions, 'int32')); // [M, Hc]
  const h = layerNorm(
    gelu(dense(params, 'mlm_score.transform.dense', rows)),
    param(params, 'mlm_score.transform.LayerNorm.weight'), param(params, 'mlm_score.transform.LayerNorm.bias'), MLM_LN_EPS,
  );
  return tf.add(linear(h, param(params, 'mlm_score.decoder.weight')), param(params, 'mlm_score.bias'));
}

/**
 * ITC temperature [], used as stored. The reference clamps the parameter itself to [0.001, 1]
 * under no_grad before each forward; here the parameter server clamps it after each update
 * (ParamSpec.clamp), the same values for every forward. A clamp inside the graph would instead
 * zero its gradient once an update pushed it past a bound, freezing it there for good.
 */
export function itcTemperature(params: ParamTensors): tf.Tensor {
  return param(params, 'temp');
}
