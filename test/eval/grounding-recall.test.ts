import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chanceRecallAtK, recallAtK } from '../../src/eval/grounding-recall.js';

/** Flickr30k-style R@K of one phrase over anchors ranked by score, with hand-made scores and hits. */
describe('recallAtK', () => {
  it('a phrase is recalled at K when any of its K best-scored anchors hits', () => {
    // Ranks: a3 (0.9), a0 (0.8), a4 (0.5), a1 (0.3), a2 (0.1); only a1 hits, at rank 4.
    const scores = [0.8, 0.3, 0.1, 0.9, 0.5];
    const hits = [0, 1, 0, 0, 0];
    assert.deepEqual(recallAtK(scores, hits, [1, 3, 4, 5, 10]), [0, 0, 1, 1, 1]);
    assert.deepEqual(recallAtK(scores, [0, 0, 0, 1, 0]), [1, 1, 1], 'the top anchor hits');
    assert.deepEqual(recallAtK(scores, [0, 0, 0, 0, 0]), [0, 0, 0], 'no anchor hits');
  });

  it('only the top K count: eleven anchors, the hit ranked 6th', () => {
    const scores = Array.from({ length: 11 }, (_, i) => 1 - i / 11); // rank = index
    const hits = scores.map((_, i) => (i === 5 ? 1 : 0));
    assert.deepEqual(recallAtK(scores, hits), [0, 0, 1]);
    assert.deepEqual(recallAtK(scores, hits.map((_, i) => (i === 10 ? 1 : 0))), [0, 0, 0], 'rank 11 is outside R@10');
  });

  it('ties count as a uniform pick: the exact chance of drawing a hit', () => {
    // Rank 1 is a clear miss; then four tied anchors, one of which hits.
    const scores = [0.9, 0.5, 0.5, 0.5, 0.5];
    const hits = [0, 0, 1, 0, 0];
    // K = 1: the miss. K = 2: one of the four tied, 1/4. K = 3: two of four, 1 - (3/4)(2/3) = 1/2.
    const [r1, r2, r3, r5] = recallAtK(scores, hits, [1, 2, 3, 5]);
    assert.equal(r1, 0);
    assert.equal(r2, 1 / 4);
    assert.ok(Math.abs(r3! - 1 / 2) < 1e-12, String(r3));
    assert.equal(r5, 1);
    // Every anchor tied: exactly the chance of a random ranking.
    const flat = [0.2, 0.2, 0.2, 0.2, 0.2];
    assert.deepEqual(recallAtK(flat, hits, [1, 2, 5]), chanceRecallAtK(5, 1, [1, 2, 5]));
  });

  it('non-finite scores rank last, tied among themselves; all non-finite is chance', () => {
    assert.deepEqual(recallAtK([NaN, 0.1, Infinity], [1, 0, 0], [1, 2, 3]), [0, 1 / 2, 1]);
    assert.deepEqual(recallAtK([NaN, NaN, NaN, NaN], [1, 0, 0, 0], [1]), [1 / 4]);
  });

  it('chance of a random ranking: 1 - C(A-h, K) / C(A, K)', () => {
    // A = 10 anchors, 2 hit: K = 1 -> 0.2; K = 5 -> 1 - C(8,5)/C(10,5) = 1 - 56/252 = 7/9; K = 10 -> 1.
    const [c1, c5, c10] = chanceRecallAtK(10, 2);
    assert.equal(c1, 0.2);
    assert.ok(Math.abs(c5! - 7 / 9) < 1e-12, String(c5));
    assert.equal(c10, 1);
    assert.deepEqual(chanceRecallAtK(3, 0), [0, 0, 0]);
  });

  it('refuses mismatched lengths and K < 1', () => {
    assert.throws(() => recallAtK([1, 2], [1]), RangeError);
    assert.throws(() => recallAtK([1, 2], [1, 0], [0]), RangeError);
  });
});
