import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { modelLayout } from '../../src/model/fusion-layout.js';
import { countParams, paramSpecs } from '../../src/model/param-spec.js';

const base = MODEL_PRESETS['fiber-base'];

test('fiber-base counts are within 1% of the reference (§1.6), from the spec list alone', () => {
  const c = countParams(paramSpecs(base, 'coarse'));
  const rows: Array<[keyof typeof c, number, string]> = [
    ['image_backbone', 86.88e6, 'Swin-B, no classifier'],
    ['text_backbone', 124.06e6, 'RoBERTa-base, no pooler'],
    ['image_fusion', 12.61e6, '4 x 1.314M + 2 x 3.676M'],
    ['text_fusion', 13.40e6, '4 x 1.971M + 2 x 2.757M + 12 alphas'],
    ['coarse_heads', 5.12e6 + 39.25e6 + 3074 + 1, 'transforms/poolers + MLM + ITM + temp'],
  ];
  for (const [k, ref, why] of rows) assert.ok(Math.abs(c[k] - ref) / ref < 0.01, `${k} ${c[k]} vs ${ref} (${why})`);
  assert.ok(Math.abs(c.image_fusion + c.text_fusion - 26.0e6) / 26.0e6 < 0.01);
});

test('fusion sits in stage-3 blocks 14-17 and stage-4 blocks 0-1, paired with text layers 6-11', () => {
  assert.deepEqual(modelLayout(base).pairs.map((p) => [p.stage, p.block, p.textLayer]), [[2, 14, 6], [2, 15, 7], [2, 16, 8], [2, 17, 9], [3, 0, 10], [3, 1, 11]]);
  const names = new Map(paramSpecs(base, 'coarse').map((s) => [s.name, s]));
  for (const n of [
    'vit_model.patch_embed.proj.weight', 'vit_model.layers.2.blocks.14.attn.qkv.weight', 'vit_model.layers.0.downsample.reduction.weight',
    'vit_model.layers.0.blocks.0.attn.relative_position_bias_table', 'text_transformer.embeddings.word_embeddings.weight',
    'text_transformer.encoder.layer.6.attention.self.query.weight', 'vit_model.layers.2.blocks.14.attn.qkv_i2t.weight',
    'vit_model.layers.3.blocks.1.attn.qkv_text_i2t.weight', 'vit_model.layers.2.blocks.17.attn.proj_i2t.weight',
    'vit_model.layers.2.blocks.14.attn.alpha_i2t', 'vit_model.layers.2.blocks.14.attn.norm_i2t_i.weight',
    'text_transformer.encoder.layer.11.crossattention_t2i.self.key.weight', 'text_transformer.encoder.layer.6.alpha_t2i',
  ]) assert.ok(names.has(n), n);
  assert.ok(!names.has('vit_model.layers.2.blocks.13.attn.qkv_i2t.weight'), 'block 13 is not fused');
  assert.ok(!names.has('text_transformer.encoder.layer.5.crossattention_t2i.self.query.weight'), 'layer 5 is not fused');
  assert.deepEqual(names.get('vit_model.layers.3.blocks.0.attn.qkv_text_i2t.weight')!.shape, [2048, 768]);
  assert.deepEqual(names.get('text_transformer.encoder.layer.6.crossattention_t2i.self.key.weight')!.shape, [768, 512]);
  assert.deepEqual(names.get('text_transformer.encoder.layer.10.crossattention_t2i.self.key.weight')!.shape, [768, 1024]);
  assert.deepEqual(names.get('vit_model.layers.2.blocks.0.attn.relative_position_bias_table')!.shape, [23 * 23, 16]);
  assert.deepEqual(names.get('vit_model.patch_embed.proj.weight')!.shape, [128, 3, 4, 4]);
});

test('groups and no-decay flags follow the reference LR groups', () => {
  const specs = new Map(paramSpecs(base, 'coarse').map((s) => [s.name, s]));
  const row = (n: string) => specs.get(n)!;
  assert.equal(row('vit_model.layers.0.blocks.0.attn.qkv.weight').group, 'backbone');
  assert.equal(row('vit_model.layers.2.blocks.14.attn.qkv_i2t.weight').group, 'fusion');
  assert.equal(row('cross_modal_image_transform_itc.weight').group, 'fusion');
  assert.equal(row('mlm_score.decoder.weight').group, 'head');
  for (const n of ['vit_model.layers.2.blocks.14.attn.alpha_i2t', 'text_transformer.encoder.layer.6.alpha_t2i', 'temp', 'vit_model.norm.weight', 'text_transformer.encoder.layer.0.output.LayerNorm.bias', 'mlm_score.bias']) {
    assert.equal(row(n).noDecay, true, n);
  }
  assert.equal(row('vit_model.layers.0.blocks.0.mlp.fc1.weight').noDecay, false);
  assert.equal(row('text_transformer.encoder.layer.0.alpha_t2i').trainable, false, 'unfused layers never read their alpha');
  assert.equal(row('text_transformer.encoder.layer.6.crossattention_t2i.output.LayerNorm.weight').trainable, false);
});

test('the fine stage drops the coarse heads and the final Swin norm and adds the FPN head', () => {
  const fine = paramSpecs(base, 'fine').map((s) => s.name);
  assert.ok(!fine.includes('vit_model.norm.weight'));
  assert.ok(!fine.some((n) => n.startsWith('mlm_score') || n.startsWith('cross_modal')));
  assert.ok(fine.includes('fpn.top_blocks.p7.weight') && fine.includes('head.bias0'));
});
