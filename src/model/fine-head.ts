import * as tf from '@tensorflow/tfjs';
import { DYCONV_PARAM_SUFFIXES, dyConvLayer } from './dyhead.js';
import { ANCHOR_SIZE_IN_STRIDES, anchorBoxes, BOX_CODER_WEIGHTS, BOX_DELTA_CLAMP, type LevelGeometry } from './fine-anchors.js';
import type { FiberModelConfig } from './model-config.js';
import { blockCall } from './ops/block-call.js';
import { conv2d } from './ops/conv2d.js';
import { countMatmulFlops } from './ops/flop-counter.js';
import { linear } from './ops/matmul.js';
import { DropoutContext, l2Normalize } from './ops/nn.js';
import { fineTowerDepth, FPN_LEVELS } from './param-spec.js';
import { param, scopedLookup, type ParamTensors } from './params.js';

/*
 * The fine (grounding/detection) head on the fused backbone (reference §3.1, vldyhead.py
 * VLDyHead without fusion): FPN P3-P7, a DyHead tower, and a one-anchor-per-location ATSS head
 * whose class logits are word-region alignment scores (GLIP's dot-product token head).
 * B batch, A anchors over all levels, F fpnChannels, L text length, T text width.
 */

export interface FineHeadOutputs {
  /** [B, A, L] alignment logits S between every anchor and every token. */
  readonly tokenLogits: tf.Tensor;
  /** [B, A, 4] predicted boxes (x1, y1, x2, y2) in pixels, decoded from the anchor deltas. */
  readonly boxes: tf.Tensor;
  /** [B, A] centerness logits. */
  readonly centerness: tf.Tensor;
  readonly levels: readonly LevelGeometry[];
  /** [A, 4] the anchors (x1, y1, x2, y2), level-major then row-major. */
  readonly anchors: Float32Array;
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
 * The DyHead tower: fineTowerDepth(config) DyConv layers. Each runs as one block (blockCall) on
 * the levels flattened into one [B, A, F] tensor, so `model.recompute: blocks` keeps only each
 * layer's input for the backward pass, as the reference's DYHEAD.USE_CHECKPOINT does.
 * pyramid: per level [B, H_l, W_l, F] -> the same shapes.
 */
export function dyheadTower(config: FiberModelConfig, params: ParamTensors, pyramid: readonly tf.Tensor[], drop: DropoutContext): tf.Tensor[] {
  const shapes = pyramid.map((t) => t.shape as [number, number, number, number]);
  const [b, , , f] = shapes[0]!;
  const split = (flat: tf.Tensor) => {
    let start = 0;
    return shapes.map(([, h, w]) => {
      const level = tf.slice(flat, [0, start, 0], [b, h * w, f]).reshape([b, h, w, f]);
      start += h * w;
      return level;
    });
  };
  let flat = tf.concat(pyramid.map((t, l) => t.reshape([b, shapes[l]![1] * shapes[l]![2], f])), 1); // [B, A, F]
  for (let i = 0; i < fineTowerDepth(config); i++) {
    const names = DYCONV_PARAM_SUFFIXES.map((s) => `head.dyhead_tower.${i}.${s}`);
    flat = blockCall(config.recompute ?? 'none', drop, { activations: [flat], params: names.map((n) => param(params, n)), constants: [] }, ([x], ps) => {
      const lookup = scopedLookup(names, ps);
      const out = dyConvLayer((s) => lookup(`head.dyhead_tower.${i}.${s}`), split(x!));
      return tf.concat(out.map((t) => t.reshape([b, -1, f])), 1);
    });
  }
  return split(flat);
}

/**
 * ATSS BoxCoder.decode: deltas (dx, dy, dw, dh) [B, A, 4] against anchors [A, 4] -> boxes
 * [B, A, 4], with the reference's weights (10, 10, 5, 5), dw/dh clamped at log(1000/16) and its
 * "+1" widths: w_a = x2 - x1 + 1; x1' = cx' - (w' - 1) / 2, x2' = cx' + (w' - 1) / 2.
 */
export function decodeBoxDeltas(deltas: tf.Tensor, anchors: Float32Array): tf.Tensor {
  const a = anchors.length / 4;
  const size = new Float32Array(a * 2), centre = new Float32Array(a * 2);
  for (let p = 0; p < a; p++) {
    size[2 * p] = anchors[4 * p + 2]! - anchors[4 * p]! + 1;
    size[2 * p + 1] = anchors[4 * p + 3]! - anchors[4 * p + 1]! + 1;
    centre[2 * p] = (anchors[4 * p]! + anchors[4 * p + 2]!) / 2;
    centre[2 * p + 1] = (anchors[4 * p + 1]! + anchors[4 * p + 3]!) / 2;
  }
  const wh = tf.tensor3d(size, [1, a, 2]), ctr = tf.tensor3d(centre, [1, a, 2]);
  const [wx, , ww] = BOX_CODER_WEIGHTS; // wx = wy, ww = wh
  const [dxy, dwh] = tf.split(deltas, 2, 2) as [tf.Tensor, tf.Tensor];
  const predCtr = tf.add(tf.mul(tf.div(dxy, wx), wh), ctr); // [B, A, 2]
  const predSize = tf.mul(tf.exp(tf.minimum(tf.div(dwh, ww), BOX_DELTA_CLAMP)), wh); // [B, A, 2]
  const half = tf.div(tf.sub(predSize, 1), 2);
  return tf.concat([tf.sub(predCtr, half), tf.add(predCtr, half)], 2);
}

/**
 * FPN, DyHead tower, then per level (1x1 convs, as VLDyHead): box deltas bbox_pred(x) * scale_l
 * decoded against the level's anchors, centerness(x), and the alignment logits
 *   t^ = L2norm(T * mask);  P_t = Linear(T -> F)(t^ / 2)
 *   S  = O P_t^T / exp(log_scale) + (t^ . bias_lang + bias0), clamped to +-50000
 * where O are the tower features. cls_logits exists in the reference with its loss times 0: it is
 * kept as a (frozen) parameter for checkpoint names and not computed.
 * stageMaps: Swin stages 2-4 [B, H, W, C_s]; textTokens [B, L, T]; attentionMask [B, L].
 */
export function fineHead(config: FiberModelConfig, params: ParamTensors, stageMaps: readonly tf.Tensor[], textTokens: tf.Tensor, attentionMask: tf.Tensor, drop: DropoutContext = new DropoutContext(false, 0)): FineHeadOutputs {
  const p = (n: string) => param(params, n);
  const pyramid = fpn(params, stageMaps).slice(0, FPN_LEVELS);
  const levels: LevelGeometry[] = pyramid.map((t, l) => ({ stride: 8 * 2 ** l, height: t.shape[1]!, width: t.shape[2]! }));
  const tower = dyheadTower(config, params, pyramid, drop);
  const f = config.fpnChannels;
  const b = textTokens.shape[0]!;
  const regs: tf.Tensor[] = [], ctrs: tf.Tensor[] = [];
  tower.forEach((t, l) => {
    const n = levels[l]!.height * levels[l]!.width;
    regs.push(tf.mul(conv2d(t, p('head.bbox_pred.weight'), p('head.bbox_pred.bias')), p(`head.scales.${l}.scale`)).reshape([b, n, 4]));
    ctrs.push(conv2d(t, p('head.centerness.weight'), p('head.centerness.bias')).reshape([b, n]));
  });
  const anchors = anchorBoxes(levels, config.fineAnchorStrides ?? ANCHOR_SIZE_IN_STRIDES);
  const regions = tf.concat(tower.map((t, l) => t.reshape([b, levels[l]!.height * levels[l]!.width, f])), 1); // [B, A, F]
  const mask = attentionMask.asType('float32').expandDims(2); // [B, L, 1]
  const tHat = l2Normalize(tf.mul(textTokens, mask)); // [B, L, T]
  const projTokens = linear(tf.div(tHat, 2), p('head.dot_product_projection_text.weight'), p('head.dot_product_projection_text.bias')); // [B, L, F]
  const tokenBias = tf.add(linear(tHat, p('head.bias_lang').reshape([1, -1])), p('head.bias0')).reshape([b, 1, -1]); // [B, 1, L]
  countMatmulFlops(b, regions.shape[1]!, f, projTokens.shape[1]!);
  const dots = tf.matMul(regions as tf.Tensor3D, projTokens as tf.Tensor3D, false, true); // [B, A, L]
  const tokenLogits = tf.clipByValue(tf.add(tf.div(dots, tf.exp(p('head.log_scale'))), tokenBias), -50000, 50000);
  return { tokenLogits, boxes: decodeBoxDeltas(tf.concat(regs, 1), anchors), centerness: tf.concat(ctrs, 1), levels, anchors };
}
