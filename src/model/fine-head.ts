import * as tf from '@tensorflow/tfjs';
import type { FiberModelConfig } from './model-config.js';
import { conv2d, groupNorm } from './ops/conv2d.js';
import { countMatmulFlops } from './ops/flop-counter.js';
import { linear } from './ops/matmul.js';
import { blockCall } from './ops/block-call.js';
import { l2Normalize, type DropoutContext } from './ops/nn.js';
import { fineTowerDepth, FPN_LEVELS, paramSpecs } from './param-spec.js';
import { param, type ParamTensors } from './params.js';
import type { LevelGeometry } from './fine-targets.js';

/*
 * The fine (grounding/detection) head on the fused backbone (reference §3.1): FPN P3-P7 and a
 * dense one-stage head whose class logits are word-region alignment scores (GLIP's dot-product
 * token head). B batch, A anchor points over all levels, F fpnChannels, L text length, T text width.
 */

export interface FineHeadOutputs {
  /** [B, A, L] alignment logits S between every anchor point and every token. */
  readonly tokenLogits: tf.Tensor;
  /** [B, A, 4] predicted (l, t, r, b) distances in pixels, positive. */
  readonly ltrb: tf.Tensor;
  /** [B, A] centerness logits. */
  readonly centerness: tf.Tensor;
  readonly levels: readonly LevelGeometry[];
}

/** GroupNorm groups: 16 as GLIP's head where the width allows, fewer for tiny models. */
function gnGroups(channels: number): number {
  for (const g of [16, 8, 4, 2]) if (channels % g === 0) return g;
  return 1;
}

/** maskrcnn-benchmark FPN with LastLevelP6P7 on P5: stage maps (strides 8/16/32) -> P3..P7 [B, H, W, F]. */
export function fpn(params: ParamTensors, stageMaps: readonly tf.Tensor[]): tf.Tensor[] {
  const p = (n: string) => param(params, n);
  const inner = stageMaps.map((c, i) => conv2d(c, p(`fpn.fpn_inner${i + 2}.weight`), p(`fpn.fpn_inner${i + 2}.bias`)));
  let last = inner[2]!;
  const outs: tf.Tensor[] = [conv2d(last, p('fpn.fpn_layer4.weight'), p('fpn.fpn_layer4.bias'))];
  for (let i = 1; i >= 0; i--) {
    const [, h, w] = inner[i]!.shape as [number, number, number, number];
    last = tf.add(inner[i]!, tf.image.resizeNearestNeighbor(last as tf.Tensor4D, [h, w]));
    outs.unshift(conv2d(last, p(`fpn.fpn_layer${i + 2}.weight`), p(`fpn.fpn_layer${i + 2}.bias`)));
  }
  const p6 = conv2d(outs[2]!, p('fpn.top_blocks.p6.weight'), p('fpn.top_blocks.p6.bias'), 2);
  const p7 = conv2d(tf.relu(p6), p('fpn.top_blocks.p7.weight'), p('fpn.top_blocks.p7.bias'), 2);
  return [...outs, p6, p7];
}

/**
 * Shared tower (conv-GN-ReLU) per level, box regression exp(scale_l * x) * stride, centerness,
 * and the alignment logits
 *   t^ = L2norm(T * mask);  P_t = Linear(T -> F)(t^ / 2)
 *   S  = O P_t^T / exp(log_scale) + (t^ . bias_lang + bias0), clamped to +-50000
 * where O are the tower features. textTokens [B, L, T], attentionMask [B, L].
 */
/**
 * The fine head as one unit of activation recomputation (`model.recompute`, ops/block-call.ts):
 * at fiber-base its backward pass (im2col matrices and their gradients on five levels) held
 * more memory than any backbone block, and tfjs keeps a node's gradient terms until the whole
 * backward pass ends. Its three outputs travel as one tensor [B, A, L + 5].
 */
export function fineHeadBlock(config: FiberModelConfig, params: ParamTensors, stageMaps: readonly tf.Tensor[], textTokens: tf.Tensor, attentionMask: tf.Tensor, drop: DropoutContext): FineHeadOutputs {
  const names = fineHeadParamNames(config);
  let levels: readonly LevelGeometry[] = [];
  const packed = blockCall(config.recompute ?? 'none', drop, {
    activations: [...stageMaps, textTokens],
    params: names.map((n) => param(params, n)),
    constants: [attentionMask],
  }, (acts, ps, [mask]) => {
    const out = fineHead(config, new Map(names.map((n, i) => [n, ps[i]!])), acts.slice(0, -1), acts.at(-1)!, mask!);
    levels = out.levels;
    return tf.concat([out.tokenLogits, out.ltrb, out.centerness.expandDims(2)], 2);
  });
  const [b, a, w] = packed.shape as [number, number, number];
  const l = w - 5;
  return {
    tokenLogits: tf.slice(packed, [0, 0, 0], [b, a, l]),
    ltrb: tf.slice(packed, [0, 0, l], [b, a, 4]),
    centerness: tf.slice(packed, [0, 0, l + 4], [b, a, 1]).reshape([b, a]),
    levels,
  };
}

const headNames = new WeakMap<FiberModelConfig, string[]>();

/** Every parameter of the fine head (FPN included), in spec order; derived once per config, not per micro-batch. */
function fineHeadParamNames(config: FiberModelConfig): string[] {
  let names = headNames.get(config);
  if (!names) {
    names = paramSpecs(config, 'fine').filter((s) => s.component === 'fine_head').map((s) => s.name);
    headNames.set(config, names);
  }
  return names;
}

export function fineHead(config: FiberModelConfig, params: ParamTensors, stageMaps: readonly tf.Tensor[], textTokens: tf.Tensor, attentionMask: tf.Tensor): FineHeadOutputs {
  const p = (n: string) => param(params, n);
  const pyramid = fpn(params, stageMaps);
  const f = config.fpnChannels;
  const b = textTokens.shape[0]!;
  const levels: LevelGeometry[] = [];
  const feats: tf.Tensor[] = [], regs: tf.Tensor[] = [], ctrs: tf.Tensor[] = [];
  pyramid.slice(0, FPN_LEVELS).forEach((level, l) => {
    const [, h, w] = level.shape as [number, number, number, number];
    const stride = 8 * 2 ** l;
    levels.push({ stride, height: h, width: w });
    let t = level;
    for (let i = 0; i < fineTowerDepth(config); i++) {
      t = tf.relu(groupNorm(conv2d(t, p(`head.tower.${i}.conv.weight`), p(`head.tower.${i}.conv.bias`)), p(`head.tower.${i}.gn.weight`), p(`head.tower.${i}.gn.bias`), gnGroups(f)));
    }
    const raw = tf.mul(conv2d(t, p('head.bbox_pred.weight'), p('head.bbox_pred.bias')), p(`head.scales.${l}.scale`));
    // Clamp before exp so an early bad step cannot overflow to Inf.
    regs.push(tf.mul(tf.exp(tf.clipByValue(raw, -10, 10)), stride).reshape([b, h * w, 4]));
    ctrs.push(conv2d(t, p('head.centerness.weight'), p('head.centerness.bias')).reshape([b, h * w]));
    feats.push(t.reshape([b, h * w, f]));
  });
  const regions = tf.concat(feats, 1); // [B, A, F]
  const mask = attentionMask.asType('float32').expandDims(2); // [B, L, 1]
  const tHat = l2Normalize(tf.mul(textTokens, mask)); // [B, L, T]
  const projTokens = linear(tf.div(tHat, 2), p('head.dot_product_projection_text.weight'), p('head.dot_product_projection_text.bias')); // [B, L, F]
  const tokenBias = tf.add(linear(tHat, p('head.bias_lang').reshape([1, -1])), p('head.bias0')).reshape([b, 1, -1]); // [B, 1, L]
  countMatmulFlops(b, regions.shape[1]!, f, projTokens.shape[1]!);
  const dots = tf.matMul(regions as tf.Tensor3D, projTokens as tf.Tensor3D, false, true); // [B, A, L]
  const tokenLogits = tf.clipByValue(tf.add(tf.div(dots, tf.exp(p('head.log_scale'))), tokenBias), -50000, 50000);
  return { tokenLogits, ltrb: tf.concat(regs, 1), centerness: tf.concat(ctrs, 1), levels };
}
