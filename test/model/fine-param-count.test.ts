import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { countParams, paramSpecs } from '../../src/model/param-spec.js';

/*
 * The reference's fine model (microsoft/FIBER fine_grained, configs/pretrain/
 * mixed_nococo_flickr_objects365.yaml) counted from its module definitions, independently of
 * fiber's spec list (docs/model.md, "Fine parameter count").
 */
const C = 256; // MODEL.BACKBONE.OUT_CHANNELS = DYHEAD.CHANNELS
const conv = (out: number, inp: number, k: number) => out * inp * k * k + out; // nn.Conv2d / ModulatedDeformConv with bias
const lin = (out: number, inp: number) => out * inp + out;

/** fpn.py FPN on C3-C5 (256/512/1024, in_channels_stage2 entry 0 dropped) + LastLevelP6P7(256, 256). */
const FPN = conv(C, 256, 1) + conv(C, 512, 1) + conv(C, 1024, 1) + 3 * conv(C, C, 3) + 2 * conv(C, C, 3);
/** vldyhead.py DyConv(256, 256) with use_dyfuse, use_dyrelu, use_deform and GroupNorm. */
const DYCONV =
  3 * (conv(C, C, 3) + 2 * C) // DyConv.{0,1,2}: Conv3x3Norm = ModulatedDeformConv + GroupNorm(16, 256)
  + conv(1, C, 1) // AttnConv.1
  + lin(C / 4, C) + lin(4 * C, C / 4) // DYReLU(256, 256): fc.0, fc.2 (reduction 4, K2 with bias: 4 x C)
  + conv(27, C, 3); // offset
/** VLDyHead: 6 DyConv + cls_logits (NUM_CLASSES 81 - 1) + bbox_pred + centerness + 5 scales + dot-product head. */
const HEAD = 6 * DYCONV + conv(80, C, 1) + conv(4, C, 1) + conv(1, C, 1) + 5 + lin(C, 768) + 1 + 768 + 1;
/**
 * Backbones and fusion from reference §1.6: Swin-B 86,878,584 less its final norm (2,048; the
 * fine backbone has none) plus the per-output norms norm1-norm3 (norm0 is Identity for
 * RETINANET: 2 x (256 + 512 + 1024)); RoBERTa-base without pooler (add_pooling_layer=False);
 * fusion v2 = 12,607,494 + 13,397,004 less norm_i2t_i (8,192).
 */
const BACKBONES = 86_878_584 - 2_048 + 2 * (256 + 512 + 1024) + 124_055_040 + 12_607_494 + 13_397_004 - 8_192;

test('the reference fine head is FPN 3.41M + DyHead 11.72M', () => {
  assert.equal(FPN, 3_409_920);
  assert.equal(DYCONV, 1_917_276);
  assert.equal(HEAD, 11_723_140);
});

test('fiber-base fine: FPN + DyHead equal the reference to the parameter; the whole model within 2%', () => {
  const c = countParams(paramSpecs(MODEL_PRESETS['fiber-base'], 'fine'));
  assert.equal(c.fine_head, FPN + HEAD);
  const reference = BACKBONES + FPN + HEAD;
  assert.ok(Math.abs(c.total - reference) / reference < 0.02, `fiber ${c.total} vs reference ${reference}`);
  // The whole difference: fiber keeps norm_i2t_i (v3 fusion in both stages) and has no norm1-3.
  assert.equal(c.total - reference, 8_192 - 2 * (256 + 512 + 1024));
});
