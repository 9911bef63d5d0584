import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rerankedScores, topCandidates } from '../../src/eval/itm-rerank.js';
import { recallAtK } from '../../src/eval/recall-at-k.js';

describe('ITM re-ranking', () => {
  it('shortlists the top K per row, ties in index order, NaN last', () => {
    const s = [0.1, 0.9, 0.5, 0.5, /* row 1 */ NaN, 0.2, 0.2, 0.3];
    assert.deepEqual([...topCandidates(s, 2, 4, 3)], [1, 2, 3, 3, 1, 2]);
    assert.throws(() => topCandidates(s, 2, 4, 5), RangeError);
  });

  it('orders the shortlist by ITM above every other candidate, the rest keep the ITC order', () => {
    // ITC: 0 (0.9) > 1 (0.8) > 2 (0.1) > 3 (0.0); truth is 1. ITM prefers 1 over 0.
    const sim = [0.9, 0.8, 0.1, 0.0];
    const cands = topCandidates(sim, 1, 4, 2);
    const out = rerankedScores(sim, 1, 4, cands, [-5, 3]);
    assert.deepEqual(recallAtK(sim, 1, 4, [1], [1]), [0]);
    assert.deepEqual(recallAtK(out, 1, 4, [1], [1, 2]), [1, 1]);
    assert.ok(out[1]! > out[0]! && out[0]! > out[2]! && out[2]! > out[3]!, `order ${[...out]}`);
    // A very negative ITM score still keeps a shortlisted candidate above the rest.
    const low = rerankedScores(sim, 1, 4, cands, [-1e6, -2e6]);
    assert.ok(low[1]! > low[2]! && low[0]! > low[1]!);
  });

  it('a candidate outside the shortlist cannot be lifted by ITM', () => {
    const sim = [0.9, 0.8, 0.1];
    const out = rerankedScores(sim, 1, 3, topCandidates(sim, 1, 3, 2), [0, 0]);
    // Truth 2 stays third; the two shortlisted tie on ITM.
    assert.deepEqual(recallAtK(out, 1, 3, [2], [2, 3]), [0, 1]);
    assert.deepEqual(recallAtK(out, 1, 3, [0], [1]), [0.5]);
  });
});
