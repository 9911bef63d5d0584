import type { FiberModelConfig } from '../../src/model/model-config.js';

/**
 * The state_dict of microsoft/FIBER's coarse pretraining module (FIBERTransformerSS with
 * loss_names itc+itm+mlm, itc_pooler=True), written down from its sources at fiber's sizes and
 * independent of fiber's own parameter list, so the export test compares against the reference:
 *   coarse_grained/fiber/modules/fiber_module.py   transforms, poolers, heads, temp, 7 queue buffers, rank_output
 *   coarse_grained/fiber/modules/swin_transformer.py  timm 0.4.12 Swin (no `head`: FIBER never calls
 *       reset_classifier) + fusion (qkv_text_i2t, qkv_i2t, proj_i2t, alpha_i2t, norm_i2t_i) in the top
 *       k-2 stage-3 blocks and all stage-4 blocks; relative_position_index / attn_mask buffers
 *   coarse_grained/fiber/modules/roberta.py          HF RobertaModel 4.6 (pooler, position_ids buffer) +
 *       crossattention_t2i in the top k layers, alpha_t2i in every layer
 *   coarse_grained/fiber/modules/heads.py             Pooler.dense, ITMHead.fc, MLMHead (transform, decoder, bias)
 * Generalised from base as the reference's own rule does (window = image_size / 32, k-2 + 2 fusion split).
 */
export function fiberCoarseReferenceKeys(c: FiberModelConfig, maxTextLen: number, queueSize = 4096): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const linear = (n: string, o: number, i: number, bias = true) => {
    out.set(`${n}.weight`, [o, i]);
    if (bias) out.set(`${n}.bias`, [o]);
  };
  const ln = (n: string, d: number) => {
    out.set(`${n}.weight`, [d]);
    out.set(`${n}.bias`, [d]);
  };
  const dims = [0, 1, 2, 3].map((s) => c.imageEmbedDim * 2 ** s);
  const sides = [0, 1, 2, 3].map((s) => c.imageSize / 4 / 2 ** s);
  const window = c.imageSize / 32;
  const k = c.numFusionLayers;
  const [, , d3, d4] = c.imageDepths;
  const hc = c.crossHidden;
  // fiber_module.py
  for (const sfx of ['', '_itc']) {
    linear(`cross_modal_text_transform${sfx}`, hc, c.textHidden);
    linear(`cross_modal_image_transform${sfx}`, hc, dims[3]!);
  }
  out.set('temp', []);
  out.set('image_queue', [hc, queueSize]);
  out.set('text_queue', [hc, queueSize]);
  out.set('image_input_queue', [queueSize, 3, c.imageSize, c.imageSize]);
  out.set('text_input_queue', [queueSize, maxTextLen]);
  out.set('text_input_mask_queue', [queueSize, maxTextLen]);
  out.set('queue_ptr', [1]);
  out.set('queue_total', [1]);
  // vit_model: swin_transformer.py
  const v = 'vit_model.';
  out.set(`${v}patch_embed.proj.weight`, [dims[0]!, 3, 4, 4]);
  out.set(`${v}patch_embed.proj.bias`, [dims[0]!]);
  ln(`${v}patch_embed.norm`, dims[0]!);
  for (let s = 0; s < 4; s++) {
    const d = dims[s]!;
    const side = sides[s]!;
    const win = Math.min(window, side);
    for (let j = 0; j < c.imageDepths[s]!; j++) {
      const p = `${v}layers.${s}.blocks.${j}.`;
      if (side > window && j % 2 === 1) out.set(`${p}attn_mask`, [(side / win) ** 2, win * win, win * win]);
      ln(`${p}norm1`, d);
      out.set(`${p}attn.relative_position_bias_table`, [(2 * win - 1) ** 2, c.imageHeads[s]!]);
      out.set(`${p}attn.relative_position_index`, [win * win, win * win]);
      linear(`${p}attn.qkv`, 3 * d, d);
      linear(`${p}attn.proj`, d, d);
      const fused = s === 3 || (s === 2 && j >= d3 - (k - d4));
      if (fused) {
        out.set(`${p}attn.alpha_i2t`, [1]);
        linear(`${p}attn.qkv_text_i2t`, 2 * d, c.textHidden);
        linear(`${p}attn.qkv_i2t`, d, d);
        linear(`${p}attn.proj_i2t`, d, d);
        ln(`${p}attn.norm_i2t_i`, d);
      }
      ln(`${p}norm2`, d);
      linear(`${p}mlp.fc1`, c.mlpRatio * d, d);
      linear(`${p}mlp.fc2`, d, c.mlpRatio * d);
    }
    if (s < 3) {
      linear(`${v}layers.${s}.downsample.reduction`, 2 * d, 4 * d, false);
      ln(`${v}layers.${s}.downsample.norm`, 4 * d);
    }
  }
  ln(`${v}norm`, dims[3]!);
  // text_transformer: roberta.py
  const t = 'text_transformer.';
  const h = c.textHidden;
  out.set(`${t}embeddings.position_ids`, [1, c.maxPositions]);
  out.set(`${t}embeddings.word_embeddings.weight`, [c.vocabSize, h]);
  out.set(`${t}embeddings.position_embeddings.weight`, [c.maxPositions, h]);
  out.set(`${t}embeddings.token_type_embeddings.weight`, [1, h]);
  ln(`${t}embeddings.LayerNorm`, h);
  for (let l = 0; l < c.textLayers; l++) {
    const p = `${t}encoder.layer.${l}.`;
    out.set(`${p}alpha_t2i`, [1]);
    for (const q of ['query', 'key', 'value']) linear(`${p}attention.self.${q}`, h, h);
    linear(`${p}attention.output.dense`, h, h);
    ln(`${p}attention.output.LayerNorm`, h);
    const fusedStep = l - (c.textLayers - k);
    if (fusedStep >= 0) {
      // K/V read stage-3 tokens for the first k-2 fused layers, stage-4 tokens after (roberta.py:236).
      const imageDim = fusedStep < k - d4 ? dims[2]! : dims[3]!;
      linear(`${p}crossattention_t2i.self.query`, h, h);
      linear(`${p}crossattention_t2i.self.key`, h, imageDim);
      linear(`${p}crossattention_t2i.self.value`, h, imageDim);
      linear(`${p}crossattention_t2i.output.dense`, h, h);
      ln(`${p}crossattention_t2i.output.LayerNorm`, h);
    }
    linear(`${p}intermediate.dense`, c.textIntermediate, h);
    linear(`${p}output.dense`, h, c.textIntermediate);
    ln(`${p}output.LayerNorm`, h);
  }
  linear(`${t}pooler.dense`, h, h);
  // heads.py
  for (const n of ['cross_modal_image_pooler', 'cross_modal_text_pooler', 'cross_modal_image_pooler_itc', 'cross_modal_text_pooler_itc']) linear(`${n}.dense`, hc, hc);
  linear('mlm_score.transform.dense', hc, hc);
  ln('mlm_score.transform.LayerNorm', hc);
  out.set('mlm_score.decoder.weight', [c.vocabSize, hc]);
  out.set('mlm_score.bias', [c.vocabSize]);
  linear('itm_score.fc', 2, 2 * hc);
  // nn.Linear(hidden, 1) whose .data is then replaced by the ITM "match" row: the state dict holds [1, 2*hidden].
  linear('rank_output', 1, 2 * hc);
  return out;
}
