import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { anchorBoxes } from '../../src/model/fine-anchors.js';
import { fineLossTargets, fineLossTerms, giouLoss, sigmoidFocal, type FineLossTargets } from '../../src/model/fine-loss.js';
import type { FineBatch } from '../../src/model/batch.js';

before(async () => {
  await selectBackend();
});

const LN2 = Math.log(2);
const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-5, `${what}: ${got} vs ${want}`);

describe('fine losses against hand-computed values', () => {
  it('token targets are binary, as the reference\'s collator makes the normalised map (bool, then float)', () => {
    // One 64 px image, one 24 px box whose phrase is tokens 1-2 (GLIP map 0.5 each), text length 4.
    const levels = [8, 16, 32, 64, 128].map((stride) => ({ stride, height: Math.ceil(64 / stride), width: Math.ceil(64 / stride) }));
    const anchors = anchorBoxes(levels, 3);
    const batch: FineBatch = {
      pixelValues: new Float32Array(3 * 64 * 64), inputIds: Int32Array.from([0, 5, 6, 2]), attentionMask: Int32Array.from([1, 1, 1, 1]),
      boxes: Float32Array.from([20, 20, 44, 44]), boxMask: Int32Array.from([1]), positiveMap: Float32Array.from([0, 0.5, 0.5, 0]),
      numSamples: 1, imageHeight: 64, imageWidth: 64, textLength: 4, maxBoxes: 1,
    };
    const t = fineLossTargets(batch, levels, anchors);
    assert.ok(t.numPositive > 0);
    for (let p = 0; p < anchors.length / 4; p++) {
      assert.deepEqual([...t.tokens.subarray(4 * p, 4 * p + 4)], t.positive[p] ? [0, 1, 1, 0] : [0, 0, 0, 0], `anchor ${p}`);
    }
  });

  it('token focal: BCE x (1 - p_t)^2 x alpha_t, soft targets allowed', () => {
    const v = sigmoidFocal(tf.zeros([3]), tf.tensor1d([1, 0, 0.5])).dataSync();
    near(v[0]!, 0.25 * 0.25 * LN2, 'target 1'); // p = 0.5: (1 - 0.5)^2 x 0.25
    near(v[1]!, 0.75 * 0.25 * LN2, 'target 0');
    near(v[2]!, 0.5 * 0.25 * LN2, 'target 0.5'); // p_t = 0.5, alpha_t = 0.5
  });

  it('GIoU as ATSSLossComputation.GIoULoss, inverted predictions flattened', () => {
    const v = giouLoss(tf.tensor2d([[0, 0, 2, 2], [2, 0, 0, 2]]), tf.tensor2d([[1, 1, 3, 3], [1, 1, 3, 3]])).dataSync();
    near(v[0]!, 1 - 1 / 7 + 2 / 9, 'overlap'); // IoU 1/7, enclosure 9, union 7
    near(v[1]!, 1 + 2 / 6, 'x2 < x1'); // raised to a 0-wide box: IoU 0, enclosure 6, union 4
  });

  it('normalisers: token / #positives over valid tokens, reg 2 x weighted / sum(centerness), centerness BCE / #positives', () => {
    // One image, two anchors, two tokens; anchor 0 positive (centerness target 0.5), anchor 1 not.
    const t: FineLossTargets = {
      tokens: Float32Array.from([1, 0, 0, 0]), boxes: Float32Array.from([1, 1, 3, 3, 0, 0, 2, 2]),
      centerness: Float32Array.from([0.5, 0]), positive: Float32Array.from([1, 0]), numPositive: 1,
    };
    const out = { tokenLogits: tf.zeros([1, 2, 2]), boxes: tf.tensor3d([[[0, 0, 2, 2], [0, 0, 2, 2]]]), centerness: tf.zeros([1, 2]) };
    const all = fineLossTerms(out, t, tf.tensor2d([[1, 1]], [1, 2], 'int32'));
    near(all.token.dataSync()[0]!, (0.0625 + 3 * 0.1875) * LN2, 'token'); // one positive, three negatives
    near(all.reg.dataSync()[0]!, (2 * 0.5 * (1 - 1 / 7 + 2 / 9)) / 0.5, 'reg');
    near(all.centerness.dataSync()[0]!, LN2, 'centerness'); // BCE(0, 0.5) on the positive only
    near(all.total.dataSync()[0]!, (0.625 + 1) * LN2 + 2 * (1 - 1 / 7 + 2 / 9), 'total');
    const masked = fineLossTerms(out, t, tf.tensor2d([[1, 0]], [1, 2], 'int32'));
    near(masked.token.dataSync()[0]!, (0.0625 + 0.1875) * LN2, 'token with the second token masked');
    const noPos = fineLossTerms(out, { ...t, positive: new Float32Array(2), centerness: new Float32Array(2), numPositive: 0 }, tf.tensor2d([[1, 1]], [1, 2], 'int32'));
    near(noPos.reg.dataSync()[0]!, 0, 'no positives: reg 0');
    near(noPos.token.dataSync()[0]!, (0.0625 + 3 * 0.1875) * LN2, 'no positives: token / max(0, 1)');
  });
});
