import * as tf from '@tensorflow/tfjs';
import { conv2d, groupNorm } from './ops/conv2d.js';
import { DEFORM_TAPS, modulatedDeformConv2d } from './ops/deform-conv.js';
import { linear } from './ops/matmul.js';
import { resizeBilinearAlignCorners } from './ops/resize-bilinear.js';

/*
 * One DyHead layer (reference vldyhead.py `DyConv`, with USE_DYFUSE, USE_DYRELU, USE_DFCONV and
 * GroupNorm, no vision-language fusion: FIBER's FUSE_CONFIG.TYPE is NONE). Channels-last levels
 * P3..P7, each [B, H_l, W_l, C]. Parameter names are relative to `head.dyhead_tower.{i}.`:
 *   offset.{weight [27, C, 3, 3], bias [27]}            offsets (18) and mask logits (9)
 *   DyConv.{0,1,2}.conv.{weight [C, C, 3, 3], bias [C]} deformable 3x3: from the coarser level,
 *                                                       this level, the finer level (stride 2)
 *   DyConv.{0,1,2}.bn.{weight, bias} [C]                GroupNorm after each conv
 *   AttnConv.1.{weight [1, C, 1, 1], bias [1]}          scale-aware attention
 *   relu.fc.0.{weight [C/4, C], bias}, relu.fc.2.{weight [4C, C/4], bias}   DyReLU (task-aware)
 */

/** Parameter suffixes of one layer, in the order the specs list them. */
export const DYCONV_PARAM_SUFFIXES = [
  ...[0, 1, 2].flatMap((k) => [`DyConv.${k}.conv.weight`, `DyConv.${k}.conv.bias`, `DyConv.${k}.bn.weight`, `DyConv.${k}.bn.bias`]),
  'AttnConv.1.weight', 'AttnConv.1.bias',
  'relu.fc.0.weight', 'relu.fc.0.bias', 'relu.fc.2.weight', 'relu.fc.2.bias',
  'offset.weight', 'offset.bias',
] as const;

/** GroupNorm groups: MODEL.GROUP_NORM.NUM_GROUPS = 16 where the width allows, fewer for tiny widths. */
export function gnGroups(channels: number): number {
  for (const g of [16, 8, 4, 2]) if (channels % g === 0) return g;
  return 1;
}

/** h_sigmoid: relu6(x + 3) / 6. */
function hSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.div(tf.relu6(tf.add(x, 3)), 6);
}

/**
 * The offsets and mask a deformable conv reads at output size ho x wo, from the layer's `offset`
 * conv on this level (om [B, H, W, 27]). For this level and the stride-2 conv on the finer one
 * the output is H x W and this is a plain split (+ sigmoid on the mask). The conv on the coarser
 * level has a smaller output, and the reference passes it the same H x W offsets anyway: its CUDA
 * kernel reads each sample's NCHW buffer as if it were [18, ho, wo] (the first 18 ho wo values of
 * the offset channels, likewise for the mask). Reproduced here so that checkpoints behave the same.
 * -> offset [B, ho, wo, 18], mask [B, ho, wo, 9].
 */
export function offsetsAt(om: tf.Tensor, ho: number, wo: number): { offset: tf.Tensor; mask: tf.Tensor } {
  const [b, h, w] = om.shape as [number, number, number, number];
  const [off, logits] = tf.split(om, [2 * DEFORM_TAPS, DEFORM_TAPS], 3) as [tf.Tensor, tf.Tensor];
  const mask = tf.sigmoid(logits);
  if (ho === h && wo === w) return { offset: off, mask };
  const reread = (t: tf.Tensor, ch: number) =>
    tf.transpose(tf.slice(tf.transpose(t, [0, 3, 1, 2]).reshape([b, ch * h * w]), [0, 0], [b, ch * ho * wo]).reshape([b, ch, ho, wo]), [0, 2, 3, 1]);
  return { offset: reread(off, 2 * DEFORM_TAPS), mask: reread(mask, DEFORM_TAPS) };
}

/**
 * DyConv.forward: for level l, the deformable conv (offsets from level l) of level l, of level
 * l-1 at stride 2 and of level l+1 upsampled (bilinear, align_corners), each followed by
 * GroupNorm; scale-aware attention hsig(relu(conv1x1(avgpool(f)))) weights each before their
 * mean; then DyReLU max(x a1 + b1, x a2 + b2) with (a1, b1, a2, b2) from the level's pooled
 * features. p(suffix) returns this layer's parameter. feats: per level [B, H_l, W_l, C].
 */
export function dyConvLayer(p: (suffix: string) => tf.Tensor, feats: readonly tf.Tensor[]): tf.Tensor[] {
  const c = feats[0]!.shape[3]!;
  const groups = gnGroups(c);
  const convNorm = (k: number, x: tf.Tensor, offset: tf.Tensor, mask: tf.Tensor, stride: 1 | 2) =>
    groupNorm(modulatedDeformConv2d(x, offset, mask, p(`DyConv.${k}.conv.weight`), p(`DyConv.${k}.conv.bias`), stride), p(`DyConv.${k}.bn.weight`), p(`DyConv.${k}.bn.bias`), groups);
  const attnW = p('AttnConv.1.weight').reshape([1, c]);
  return feats.map((feature, level) => {
    const [, h, w] = feature.shape as [number, number, number, number];
    const om = conv2d(feature, p('offset.weight'), p('offset.bias')); // [B, H, W, 27]
    const here = offsetsAt(om, h, w);
    const temp = [convNorm(1, feature, here.offset, here.mask, 1)];
    if (level > 0) temp.push(convNorm(2, feats[level - 1]!, here.offset, here.mask, 2));
    if (level < feats.length - 1) {
      const [, hc, wc] = feats[level + 1]!.shape as [number, number, number, number];
      const coarse = offsetsAt(om, hc, wc);
      temp.push(resizeBilinearAlignCorners(convNorm(0, feats[level + 1]!, coarse.offset, coarse.mask, 1), h, w));
    }
    // Scale-aware attention: one weight in (0, 1) per sample and input level.
    const weighted = temp.map((f) => tf.mul(f, hSigmoid(tf.relu(linear(tf.mean(f, [1, 2]), attnW, p('AttnConv.1.bias')))).reshape([-1, 1, 1, 1])));
    return dyRelu(p, tf.div(tf.addN(weighted), temp.length));
  });
}

/** DYReLU(C, C), reduction 4, K2, with bias: lambda_a = 2, init_a = (1, 0), init_b = (0, 0). x [B, H, W, C]. */
function dyRelu(p: (suffix: string) => tf.Tensor, x: tf.Tensor): tf.Tensor {
  const [b, , , c] = x.shape as [number, number, number, number];
  const hidden = tf.relu(linear(tf.mean(x, [1, 2]), p('relu.fc.0.weight'), p('relu.fc.0.bias'))); // [B, C/4]
  const coefs = hSigmoid(linear(hidden, p('relu.fc.2.weight'), p('relu.fc.2.bias'))); // [B, 4C]
  const [a1, b1, a2, b2] = tf.split(coefs.reshape([b, 1, 1, 4 * c]), 4, 3) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const first = tf.add(tf.mul(x, tf.add(tf.mul(tf.sub(a1, 0.5), 2), 1)), tf.sub(b1, 0.5));
  const second = tf.add(tf.mul(x, tf.mul(tf.sub(a2, 0.5), 2)), tf.sub(b2, 0.5));
  return tf.maximum(first, second);
}
