import * as tf from '@tensorflow/tfjs';
import type { FineBatch } from './batch.js';
import { encode } from './fiber-encoder.js';
import { fineHeadBlock } from './fine-head.js';
import { assignFcosTargets } from './fine-targets.js';
import type { FiberModelConfig } from './model-config.js';
import type { GradSink } from './ops/grad-sink.js';
import { DropoutContext } from './ops/nn.js';
import type { ParamTensors } from './params.js';
import { deriveSeed } from './seeded-rng.js';

/*
 * Fine objectives (reference §3.2): token focal loss + GIoU (centerness-weighted) + centerness BCE.
 * B batch, A anchor points, L tokens, M boxes.
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

/** Numerically stable BCE with logits, elementwise. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
}

/** Sigmoid focal loss, elementwise (RetinaNet). */
export function sigmoidFocal(logits: tf.Tensor, targets: tf.Tensor, alpha = FOCAL_ALPHA, gamma = FOCAL_GAMMA): tf.Tensor {
  const prob = tf.sigmoid(logits);
  const pt = tf.add(tf.mul(prob, targets), tf.mul(tf.sub(1, prob), tf.sub(1, targets)));
  const weight = tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha));
  return tf.mul(tf.mul(bceWithLogits(logits, targets), tf.pow(tf.sub(1, pt), gamma)), weight);
}

/** 1 - GIoU between boxes given as (l, t, r, b) distances from the same point: [..., 4] -> [...]. */
export function giouLossLtrb(pred: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const [pl, pt, pr, pb] = tf.unstack(pred, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const [tl, tt, tr, tb] = tf.unstack(target, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const predArea = tf.mul(tf.add(pl, pr), tf.add(pt, pb));
  const targetArea = tf.mul(tf.add(tl, tr), tf.add(tt, tb));
  const inter = tf.mul(tf.add(tf.minimum(pl, tl), tf.minimum(pr, tr)), tf.add(tf.minimum(pt, tt), tf.minimum(pb, tb)));
  const enclose = tf.add(tf.mul(tf.add(tf.maximum(pl, tl), tf.maximum(pr, tr)), tf.add(tf.maximum(pt, tt), tf.maximum(pb, tb))), 1e-7);
  const union = tf.sub(tf.add(predArea, targetArea), inter);
  const iou = tf.div(tf.add(inter, 1), tf.add(union, 1));
  const giou = tf.sub(iou, tf.div(tf.sub(enclose, union), enclose));
  return tf.sub(1, giou);
}

/** Fine losses of one micro-batch. Dropout (if any) is seeded by `seed`; assignment is deterministic. */
export function fineLosses(config: FiberModelConfig, params: ParamTensors, batch: FineBatch, seed: number, training: boolean, gradSink?: GradSink): FineLosses {
  const b = batch.numSamples, s = batch.imageSize, l = batch.textLength, m = batch.maxBoxes;
  const drop = new DropoutContext(training, deriveSeed(seed, 'dropout'), gradSink);
  const pixels = tf.tensor4d(batch.pixelValues, [b, 3, s, s]);
  const ids = tf.tensor2d(batch.inputIds, [b, l], 'int32');
  const mask = tf.tensor2d(batch.attentionMask, [b, l], 'int32');
  const enc = encode(config, params, { pixelValues: pixels, inputIds: ids, attentionMask: mask }, 'fusion', drop);
  const out = fineHeadBlock(config, params, enc.stageMaps!, enc.textTokens!, mask, drop);
  const a = out.centerness.shape[1]!;

  // Targets per image, in JS: assignment, ltrb, centerness, token map rows of the assigned box.
  const tokenTarget = new Float32Array(b * a * l);
  const ltrbTarget = new Float32Array(b * a * 4);
  const ctrTarget = new Float32Array(b * a);
  const posMask = new Float32Array(b * a);
  let numPos = 0;
  for (let i = 0; i < b; i++) {
    const t = assignFcosTargets(out.levels, batch.boxes.subarray(i * m * 4, (i + 1) * m * 4), batch.boxMask.subarray(i * m, (i + 1) * m));
    numPos += t.numPositive;
    ltrbTarget.set(t.ltrb, i * a * 4);
    ctrTarget.set(t.centerness, i * a);
    for (let p = 0; p < a; p++) {
      const box = t.assigned[p]!;
      if (box < 0) continue;
      posMask[i * a + p] = 1;
      for (let k = 0; k < l; k++) {
        // GLIP's positive map is normalised per box; the focal loss only needs which tokens.
        if (batch.positiveMap[(i * m + box) * l + k]! > 0 && batch.attentionMask[i * l + k]) tokenTarget[(i * a + p) * l + k] = 1;
      }
    }
  }
  const normPos = Math.max(numPos, 1);
  const textValid = mask.asType('float32').reshape([b, 1, l]);
  const focal = tf.mul(sigmoidFocal(out.tokenLogits, tf.tensor3d(tokenTarget, [b, a, l])), textValid);
  const token = tf.div(tf.sum(focal), normPos) as tf.Scalar;

  const ctr = tf.tensor2d(ctrTarget, [b, a]);
  const pos = tf.tensor2d(posMask, [b, a]);
  const ctrSum = ctrTarget.reduce((x, y) => x + y, 0);
  const giou = giouLossLtrb(out.ltrb, tf.tensor3d(ltrbTarget, [b, a, 4])); // [B, A]
  const reg = tf.mul(tf.div(tf.sum(tf.mul(giou, ctr)), Math.max(ctrSum, 1e-6)), REG_LOSS_WEIGHT) as tf.Scalar;
  const centerness = tf.div(tf.sum(tf.mul(bceWithLogits(out.centerness, ctr), pos)), normPos) as tf.Scalar;
  return { token, reg, centerness, total: tf.addN([token, reg, centerness]) as tf.Scalar };
}
