import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Box } from '../../src/eval/box-iou.js';
import { clipBoxes, groundPhrase, phraseAnchorScores } from '../../src/eval/grounding-accuracy.js';
import { groundingPhrases } from '../../src/eval/grounding-phrases.js';

describe('grounding maths', () => {
  it('phrase score = mean token probability over the phrase x centerness', () => {
    // A = 2 anchors, L = 3 tokens.
    const probs = [0.2, 0.4, 0.9, /* anchor 1 */ 0.8, 0.6, 0.1];
    const got = phraseAnchorScores(probs, [0.5, 1], 3, [0, 1]);
    assert.ok(Math.abs(got[0]! - 0.15) < 1e-12 && Math.abs(got[1]! - 0.7) < 1e-12, `${[...got]}`);
    assert.throws(() => phraseAnchorScores(probs, [0.5, 1], 3, []), RangeError);
  });

  it('clips predicted boxes to the real image', () => {
    const boxes = clipBoxes([2, -1, 8, 5, /* second */ 19, 3, 21, 7], 8, 6);
    assert.deepEqual([...boxes], [2, 0, 8, 5, /* x 19..21 clipped to width 8, y2 to 6 */ 8, 3, 8, 6]);
  });

  // Three anchors: exactly the truth, a half-overlapping box (IoU 1/3), a far one.
  const truth: Box = [0, 0, 2, 2];
  const boxes = [0, 0, 2, 2, 1, 0, 3, 2, 10, 10, 12, 12];

  it('a hit needs IoU >= 0.5 for the best-scoring anchor; chance is the share of anchors that hit', () => {
    // recall at K = 1, 5, 10: with 3 anchors, K >= 3 takes them all.
    assert.deepEqual(groundPhrase([0.9, 0.5, 0.1], boxes, [truth]), { hit: 1, chance: 1 / 3, oracle: 1, recall: [1, 1, 1], chanceRecall: [1 / 3, 1, 1] });
    assert.deepEqual(groundPhrase([0.1, 0.9, 0.2], boxes, [truth]), { hit: 0, chance: 1 / 3, oracle: 1, recall: [0, 1, 1], chanceRecall: [1 / 3, 1, 1] });
    assert.deepEqual(groundPhrase([0.1, 0.9, 0.2], boxes, [[5, 5, 6, 6]]), { hit: 0, chance: 0, oracle: 0, recall: [0, 0, 0], chanceRecall: [0, 0, 0] });
  });

  it('any of the phrase\'s boxes counts', () => {
    assert.equal(groundPhrase([0.1, 0.9, 0.2], boxes, [[20, 20, 30, 30], [1, 0, 3, 2]]).hit, 1);
    assert.equal(groundPhrase([0.1, 0.2, 0.9], boxes, [truth, [10, 10, 12, 12]]).chance, 2 / 3);
  });

  it('tied best anchors count as a uniform pick; all-NaN scores give chance', () => {
    assert.equal(groundPhrase([0.5, 0.5, 0.1], boxes, [truth]).hit, 0.5);
    assert.equal(groundPhrase([0.3, 0.3, 0.3], boxes, [truth]).hit, 1 / 3);
    assert.equal(groundPhrase([NaN, NaN, NaN], boxes, [truth]).hit, 1 / 3);
    assert.equal(groundPhrase([NaN, 0.1, 0.2], boxes, [[10, 10, 12, 12]]).hit, 1, 'NaN never wins');
  });

  it('phrases are the distinct spans, each with every box it names and its tokens', () => {
    const b0: Box = [0, 0, 1, 1], b1: Box = [2, 2, 3, 3];
    // "dogs and a cat": b0 is named by "dogs"; b1 by "dogs" and "cat".
    const offsets: Array<[number, number]> = [[0, 0], [0, 4], [5, 8], [9, 10], [11, 14], [0, 0]];
    const { phrases, truncated } = groundingPhrases([b0, b1], [[[0, 4]], [[0, 4], [11, 14]]], offsets, 6);
    assert.equal(truncated, 0);
    assert.deepEqual(phrases, [
      { spans: [[0, 4]], tokens: [1], boxes: [b0, b1] },
      { spans: [[11, 14]], tokens: [4], boxes: [b1] },
    ]);
    // With a query of 4 tokens "cat" (token 4) is cut off: not evaluated, counted.
    const cut = groundingPhrases([b0, b1], [[[0, 4]], [[0, 4], [11, 14]]], offsets, 4);
    assert.equal(cut.truncated, 1);
    assert.equal(cut.phrases.length, 1);
  });

  it('eval phrases (tokens_positive_eval) are taken as listed: several spans one phrase, boxes by overlapping span', () => {
    const b0: Box = [0, 0, 1, 1], b1: Box = [2, 2, 3, 3];
    // "left white car" (RefCOCO: one box, head-word spans) and "dogs" naming no box.
    const offsets: Array<[number, number]> = [[0, 0], [0, 4], [5, 10], [11, 14], [15, 19], [0, 0]];
    const boxSpans = [[[0, 4], [5, 10], [11, 14]], [[11, 14]]] as const;
    const r = groundingPhrases([b0, b1], boxSpans, offsets, 6, [[[0, 4], [5, 10], [11, 14]], [[15, 19]]]);
    assert.deepEqual(r.phrases, [{ spans: [[0, 4], [5, 10], [11, 14]], tokens: [1, 2, 3], boxes: [b0, b1] }]);
    assert.equal(r.noBox, 1);
    assert.equal(r.truncated, 0);
    // Without them the same boxes give one phrase per distinct span.
    assert.equal(groundingPhrases([b0, b1], boxSpans, offsets, 6).phrases.length, 3);
  });
});

describe('grounding against the training targets', () => {
  it('a head that outputs exactly its ATSS training targets grounds every phrase (IoU 1)', async () => {
    const { assignAtss } = await import('../../src/model/fine-targets.js');
    const { anchorBoxes } = await import('../../src/model/fine-anchors.js');
    // fiber-tiny's fine head at 64 px: P3..P7 at strides 8..128.
    const s = 64;
    const levels = [{ stride: 8, height: 8, width: 8 }, { stride: 16, height: 4, width: 4 }, { stride: 32, height: 2, width: 2 }, { stride: 64, height: 1, width: 1 }, { stride: 128, height: 1, width: 1 }];
    const boxes: Box[] = [[4, 4, 30, 40], [35, 10, 60, 60], [0, 0, 64, 48]];
    // Caption tokens: 1-2 name box 0, 3 names box 1, 4-5 name box 2 (L = 7 incl. <s> and </s>).
    const tokensOf = [[1, 2], [3], [4, 5]];
    const l = 7;
    const t = assignAtss(levels, Float32Array.from(boxes.flat()), Int32Array.from([1, 1, 1]));
    const a = anchorBoxes(levels).length / 4;
    const probs = new Float32Array(a * l);
    for (let p = 0; p < a; p++) if (t.assigned[p]! >= 0) for (const k of tokensOf[t.assigned[p]!]!) probs[p * l + k] = 1;
    // Positives predict their box exactly; negatives a box far away.
    const predicted = clipBoxes(Float32Array.from({ length: a * 4 }, (_, i) => (t.assigned[i >> 2]! >= 0 ? boxes[t.assigned[i >> 2]!]![i % 4]! : 100)), s, s);
    boxes.forEach((box, m) => {
      const r = groundPhrase(phraseAnchorScores(probs, t.centerness, l, tokensOf[m]!), predicted, [box]);
      assert.equal(r.hit, 1, `box ${m}`);
      assert.ok(r.chance < 1, 'most anchors are elsewhere');
    });
  });
});
