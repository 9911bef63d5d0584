import * as tf from '@tensorflow/tfjs';
import type { FineBatch } from './batch.js';
import { encode } from './fiber-encoder.js';
import { fineHead } from './fine-head.js';
import { assignAtss } from './fine-targets.js';
import type { FiberModelConfig } from './model-config.js';
import type { GradSink } from './ops/grad-sink.js';
import { DropoutContext } from './ops/nn.js';
import type { ParamTensors } from './params.js';
import { deriveSeed } from './seeded-rng.js';

/*
 * Fine objectives (reference §3.2, rpn/loss.py ATSSLossComputation): token sigmoid focal loss on
 * the token-level positive map + 2 x GIoU (weighted by centerness targets) + centerness BCE, on
 * ATSS positives. B batch, A anchors, L tokens, M boxes.
 */

export interface FineLosses {
  readonly token: tf.Scalar;
  readonly reg: tf.Scalar;
  readonly centerness: tf.Scalar;
  readonly total: tf.Scalar;
}

/** Focal loss parameters (FUSE_CONFIG.TOKEN_ALPHA/GAMMA) and ATSS.REG_LOSS_WEIGHT. */
export const FOCAL_ALPHA = 0.25;
export const FOCAL_GAMMA = 2;
export const REG_LOSS_WEIGHT = 2;

/**
 * Token position an unmatched anchor is labelled with (prepare_targets: unmatched_labels[-1] = 1,
 * "none object -> 256", the last of MAX_QUERY_LEN = 256 positions). The text mask removes it
 * unless the caption fills all 256 tokens; texts shorter than 256 have no such position.
 */
export const NO_OBJECT_TOKEN = 255;

/** Numerically stable BCE with logits, elementwise. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
}

/** token_sigmoid_binary_focal_loss, elementwise: BCE (1 - p_t)^gamma alpha_t, soft targets allowed. */
export function sigmoidFocal(logits: tf.Tensor, targets: tf.Tensor, alpha = FOCAL_ALPHA, gamma = FOCAL_GAMMA): tf.Tensor {
  const prob = tf.sigmoid(logits);
  const pt = tf.add(tf.mul(prob, targets), tf.mul(tf.sub(1, prob), tf.sub(1, targets)));
  const weight = tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha));
  return tf.mul(tf.mul(bceWithLogits(logits, targets), tf.pow(tf.sub(1, pt), gamma)), weight);
}

/**
 * ATSSLossComputation.GIoULoss per box, before weighting: 1 - GIoU of predicted and target boxes
 * (x1, y1, x2, y2) [..., 4] -> [...]. The prediction's x2/y2 are raised to x1/y1 when below; the
 * intersection counts only when positive on both axes; union and enclosure get + 1e-7.
 */
export function giouLoss(pred: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const [px1, py1, px2r, py2r] = tf.unstack(pred, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const [tx1, ty1, tx2, ty2] = tf.unstack(target, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const px2 = tf.maximum(px1, px2r), py2 = tf.maximum(py1, py2r);
  const predArea = tf.mul(tf.sub(px2, px1), tf.sub(py2, py1));
  const targetArea = tf.mul(tf.sub(tx2, tx1), tf.sub(ty2, ty1));
  // relu(w) relu(h) is (w h where both are positive, else 0): the reference's masked product.
  const inter = tf.mul(tf.relu(tf.sub(tf.minimum(px2, tx2), tf.maximum(px1, tx1))), tf.relu(tf.sub(tf.minimum(py2, ty2), tf.maximum(py1, ty1))));
  const enclose = tf.add(tf.mul(tf.sub(tf.maximum(px2, tx2), tf.minimum(px1, tx1)), tf.sub(tf.maximum(py2, ty2), tf.minimum(py1, ty1))), 1e-7);
  const union = tf.add(tf.sub(tf.add(predArea, targetArea), inter), 1e-7);
  const giou = tf.sub(tf.div(inter, union), tf.div(tf.sub(enclose, union), enclose));
  return tf.sub(1, giou);
}

/** ATSS targets of a micro-batch as flat arrays: what the three losses compare against. */
export interface FineLossTargets {
  /** [B, A, L] the assigned box's positive-map row made binary (1 where > 0, as the reference's collator); unmatched: NO_OBJECT_TOKEN. */
  readonly tokens: Float32Array;
  /** [B, A, 4] the assigned box (x1, y1, x2, y2); for negatives the anchor itself (weight 0). */
  readonly boxes: Float32Array;
  /** [B, A] centerness targets, 0 for negatives. */
  readonly centerness: Float32Array;
  /** [B, A] 1 for ATSS positives. */
  readonly positive: Float32Array;
  readonly numPositive: number;
}

/** Assigns every image of the batch (assignAtss) and expands the targets to anchors. */
export function fineLossTargets(batch: FineBatch, levels: Parameters<typeof assignAtss>[0], anchors: Float32Array): FineLossTargets {
  const b = batch.numSamples, l = batch.textLength, m = batch.maxBoxes, a = anchors.length / 4;
  const tokens = new Float32Array(b * a * l);
  const boxes = new Float32Array(b * a * 4);
  const centerness = new Float32Array(b * a);
  const positive = new Float32Array(b * a);
  let numPositive = 0;
  for (let i = 0; i < b; i++) {
    const gt = batch.boxes.subarray(i * m * 4, (i + 1) * m * 4);
    const t = assignAtss(levels, gt, batch.boxMask.subarray(i * m, (i + 1) * m), anchors);
    numPositive += t.numPositive;
    centerness.set(t.centerness, i * a);
    for (let p = 0; p < a; p++) {
      const g = t.assigned[p]!;
      const row = (i * a + p) * l;
      if (g < 0) {
        boxes.set(anchors.subarray(4 * p, 4 * p + 4), (i * a + p) * 4);
        if (NO_OBJECT_TOKEN < l) tokens[row + NO_OBJECT_TOKEN] = 1;
        continue;
      }
      positive[i * a + p] = 1;
      boxes.set(gt.subarray(4 * g, 4 * g + 4), (i * a + p) * 4);
      // Binary, as the reference trains: its collator (collate_batch.py BatchCollator) copies each
      // image's normalised positive map into a torch.bool tensor and back to float, so the loss
      // sees 1 on every token of the box's phrase, not 1/k.
      const map = batch.positiveMap.subarray((i * m + g) * l, (i * m + g + 1) * l);
      for (let k = 0; k < l; k++) if (map[k]! > 0) tokens[row + k] = 1;
    }
  }
  return { tokens, boxes, centerness, positive, numPositive };
}

/**
 * The three losses from the head's outputs and the targets, with the reference's normalisers:
 *   token      = sum over valid tokens of focal(S, tokens) / max(#positives, 1)
 *   reg        = 2 x sum(centerness_t x (1 - GIoU)) / sum(centerness_t)        (0 without positives)
 *   centerness = sum over positives of BCE(centerness, centerness_t) / max(#positives, 1)
 * tokenLogits [B, A, L], boxes [B, A, 4], centerness [B, A], textMask [B, L] int32.
 */
export function fineLossTerms(out: { tokenLogits: tf.Tensor; boxes: tf.Tensor; centerness: tf.Tensor }, t: FineLossTargets, textMask: tf.Tensor): FineLosses {
  const [b, a, l] = out.tokenLogits.shape as [number, number, number];
  const normPos = Math.max(t.numPositive, 1);
  const valid = textMask.asType('float32').reshape([b, 1, l]);
  const token = tf.div(tf.sum(tf.mul(sigmoidFocal(out.tokenLogits, tf.tensor3d(t.tokens, [b, a, l])), valid)), normPos) as tf.Scalar;
  const ctrSum = t.centerness.reduce((x, y) => x + y, 0);
  const ctr = tf.tensor2d(t.centerness, [b, a]);
  const reg = t.numPositive === 0
    ? tf.mul(tf.sum(out.boxes), 0) as tf.Scalar
    : tf.mul(tf.div(tf.sum(tf.mul(giouLoss(out.boxes, tf.tensor3d(t.boxes, [b, a, 4])), ctr)), ctrSum), REG_LOSS_WEIGHT) as tf.Scalar;
  const centerness = tf.div(tf.sum(tf.mul(bceWithLogits(out.centerness, ctr), tf.tensor2d(t.positive, [b, a]))), normPos) as tf.Scalar;
  return { token, reg, centerness, total: tf.addN([token, reg, centerness]) as tf.Scalar };
}

/** Fine losses of one micro-batch. Dropout (if any) is seeded by `seed`; assignment is deterministic. */
export function fineLosses(config: FiberModelConfig, params: ParamTensors, batch: FineBatch, seed: number, training: boolean, gradSink?: GradSink): FineLosses {
  const b = batch.numSamples, l = batch.textLength;
  const drop = new DropoutContext(training, deriveSeed(seed, 'dropout'), gradSink);
  const pixels = tf.tensor4d(batch.pixelValues, [b, 3, batch.imageHeight, batch.imageWidth]);
  const ids = tf.tensor2d(batch.inputIds, [b, l], 'int32');
  const mask = tf.tensor2d(batch.attentionMask, [b, l], 'int32');
  const enc = encode(config, params, { pixelValues: pixels, inputIds: ids, attentionMask: mask, imageWindows: 'pad' }, 'fusion', drop);
  const out = fineHead(config, params, enc.stageMaps!, enc.textTokens!, mask, drop);
  return fineLossTerms(out, fineLossTargets(batch, out.levels, out.anchors), mask);
}
