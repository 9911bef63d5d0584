import * as tf from '@tensorflow/tfjs';
import type { FiberModelConfig } from './model-config.js';
import { ROBERTA_PAD_ID } from './init-params.js';
import { attention } from './ops/attention.js';
import { blockCall } from './ops/block-call.js';
import { gatherRows } from './ops/gather-rows.js';
import { linear } from './ops/matmul.js';
import { dropout, gelu, layerNorm, type DropoutContext } from './ops/nn.js';
import { scopedLookup } from './params.js';

/*
 * RoBERTa text backbone (HF RobertaModel, post-LN) with FIBER's text-side fusion (reference §1.3).
 * Letters: B batch, L text length, T text width, N image tokens, D image width.
 * Names are Hugging Face's, read through `p` (scoped to `text_transformer.`).
 */

const LN_EPS = 1e-5;

export interface RobertaContext {
  readonly config: FiberModelConfig;
  readonly p: (name: string) => tf.Tensor;
  readonly drop: DropoutContext;
}

/**
 * RoBERTa position ids: padding tokens get the padding id, the others count up from pad + 1
 * (HF create_position_ids_from_input_ids). ids [B*L] row-major -> [B*L].
 */
export function robertaPositionIds(ids: Int32Array, length: number): Int32Array {
  const out = new Int32Array(ids.length);
  for (let row = 0; row < ids.length / length; row++) {
    let count = 0;
    for (let j = 0; j < length; j++) {
      const i = row * length + j;
      if (ids[i] === ROBERTA_PAD_ID) out[i] = ROBERTA_PAD_ID;
      else out[i] = ++count + ROBERTA_PAD_ID;
    }
  }
  return out;
}

/** HF extended attention mask: attentionMask [B, L] (1 keep) -> [B, 1, 1, L] of 0 / -10000. */
export function textMaskBias(attentionMask: tf.Tensor): tf.Tensor {
  const [b, l] = attentionMask.shape as [number, number];
  return tf.mul(tf.sub(1, attentionMask.asType('float32')), -10000).reshape([b, 1, 1, l]);
}

/**
 * Word + position + token-type(0) embeddings, LayerNorm, dropout. inputIds [B, L] int32 -> [B, L, T].
 * `wordEmbeds` [B, L, T], when given, replaces the word lookup: the coarse loss gathers the word
 * rows of all its passes at once so the vocabulary-sized embedding gradient is built once.
 */
export function robertaEmbeddings(ctx: RobertaContext, inputIds: tf.Tensor, wordEmbeds?: tf.Tensor): tf.Tensor {
  const [b, l] = inputIds.shape as [number, number];
  const ids = inputIds.dataSync() as Int32Array;
  const positions = tf.tensor2d(robertaPositionIds(Int32Array.from(ids), l), [b, l], 'int32');
  const words = wordEmbeds ?? gatherRows(ctx.p('embeddings.word_embeddings.weight'), inputIds); // [B, L, T]
  const pos = gatherRows(ctx.p('embeddings.position_embeddings.weight'), positions); // [B, L, T]
  const type0 = ctx.p('embeddings.token_type_embeddings.weight'); // [1, T], broadcast
  const sum = tf.add(tf.add(words, pos), type0);
  const normed = layerNorm(sum, ctx.p('embeddings.LayerNorm.weight'), ctx.p('embeddings.LayerNorm.bias'), LN_EPS);
  return dropout(normed, ctx.config.dropout, ctx.drop);
}

const LAYER_PARAMS = [
  'attention.self.query.weight', 'attention.self.query.bias', 'attention.self.key.weight', 'attention.self.key.bias',
  'attention.self.value.weight', 'attention.self.value.bias', 'attention.output.dense.weight', 'attention.output.dense.bias',
  'attention.output.LayerNorm.weight', 'attention.output.LayerNorm.bias', 'intermediate.dense.weight', 'intermediate.dense.bias',
  'output.dense.weight', 'output.dense.bias', 'output.LayerNorm.weight', 'output.LayerNorm.bias',
];
const FUSION_PARAMS = [
  'crossattention_t2i.self.query.weight', 'crossattention_t2i.self.query.bias', 'crossattention_t2i.self.key.weight',
  'crossattention_t2i.self.key.bias', 'crossattention_t2i.self.value.weight', 'crossattention_t2i.self.value.bias',
  'crossattention_t2i.output.dense.weight', 'crossattention_t2i.output.dense.bias', 'alpha_t2i',
];

/** Every parameter one RoBERTa layer reads (names under `text_transformer.`); a fused layer adds FIBER's t2i ones. */
export function robertaLayerParamNames(layer: number, fused: boolean): string[] {
  return [...LAYER_PARAMS, ...(fused ? FUSION_PARAMS : [])].map((n) => `encoder.layer.${layer}.${n}`);
}

/**
 * One RoBERTa layer as a unit of activation recomputation (`model.recompute`, ops/block-call.ts):
 * the image tokens it attends to are an input of the layer, the key mask a constant.
 */
export function robertaLayer(ctx: RobertaContext, text: tf.Tensor, maskBias: tf.Tensor, layer: number, image?: tf.Tensor): tf.Tensor {
  const names = robertaLayerParamNames(layer, image !== undefined);
  return blockCall(ctx.config.recompute ?? 'none', ctx.drop, {
    activations: image ? [text, image] : [text],
    params: names.map(ctx.p),
    constants: [maskBias],
  }, ([t, img], params, [bias], drop) => robertaLayerBody({ ...ctx, p: scopedLookup(names, params), drop }, t!, bias!, layer, img));
}

/**
 * One RoBERTa layer, optionally fused with image tokens:
 *   a  = Dropout(Dense(SelfAttn(T)))                          (no residual/LN yet: FIBER's SelfOutput)
 *   c  = Dropout(Dense_c(Attn(Q = W_q a, K/V = W_k,v I)))     only when `image` is given; no key mask
 *   T' = LN_attn(T + a + alpha_t2i * c)
 *   T''= LN_out(T' + Dropout(FFN(T')))
 * text [B, L, T], maskBias [B, 1, 1, L], image [B, N, D] -> [B, L, T].
 */
function robertaLayerBody(ctx: RobertaContext, text: tf.Tensor, maskBias: tf.Tensor, layer: number, image?: tf.Tensor): tf.Tensor {
  const pre = `encoder.layer.${layer}.`;
  const p = (n: string) => ctx.p(pre + n);
  const heads = ctx.config.textHeads;
  const rate = ctx.config.dropout;
  const q = linear(text, p('attention.self.query.weight'), p('attention.self.query.bias'));
  const k = linear(text, p('attention.self.key.weight'), p('attention.self.key.bias'));
  const v = linear(text, p('attention.self.value.weight'), p('attention.self.value.bias'));
  const selfCtx = attention(q, k, v, heads, maskBias, rate, ctx.drop); // [B, L, T]
  const a = dropout(linear(selfCtx, p('attention.output.dense.weight'), p('attention.output.dense.bias')), rate, ctx.drop);
  let sum = tf.add(text, a);
  if (image) {
    const x = 'crossattention_t2i.';
    const cq = linear(a, p(`${x}self.query.weight`), p(`${x}self.query.bias`));
    const ck = linear(image, p(`${x}self.key.weight`), p(`${x}self.key.bias`)); // [B, N, T]
    const cv = linear(image, p(`${x}self.value.weight`), p(`${x}self.value.bias`));
    const crossCtx = attention(cq, ck, cv, heads, undefined, rate, ctx.drop);
    const c = dropout(linear(crossCtx, p(`${x}output.dense.weight`), p(`${x}output.dense.bias`)), rate, ctx.drop);
    sum = tf.add(sum, tf.mul(p('alpha_t2i'), c));
  }
  const t1 = layerNorm(sum, p('attention.output.LayerNorm.weight'), p('attention.output.LayerNorm.bias'), LN_EPS);
  const inter = gelu(linear(t1, p('intermediate.dense.weight'), p('intermediate.dense.bias')));
  const out = dropout(linear(inter, p('output.dense.weight'), p('output.dense.bias')), rate, ctx.drop);
  return layerNorm(tf.add(t1, out), p('output.LayerNorm.weight'), p('output.LayerNorm.bias'), LN_EPS);
}
