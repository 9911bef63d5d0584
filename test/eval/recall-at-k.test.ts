import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedHitAtK, recallAtK, transposeScores, truthRanks } from '../../src/eval/recall-at-k.js';
import { retrievalChance, retrievalScores } from '../../src/eval/retrieval-scores.js';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

describe('recallAtK', () => {
  it('ranks the correct candidate by how many beat it (hand-computed 3 x 3)', () => {
    // q0: truth 0 scores 0.9, best              -> rank 0
    // q1: truth 1 scores 0.3, beaten by 0.8 and 0.7 -> rank 2
    // q2: truth 2 scores 0.4, beaten by 0.6     -> rank 1
    const s = [0.9, 0.1, 0.5, 0.8, 0.3, 0.7, 0.2, 0.6, 0.4];
    assert.deepEqual([...truthRanks(s, 3, 3, [0, 1, 2]).greater], [0, 2, 1]);
    const [r1, r2, r3] = recallAtK(s, 3, 3, [0, 1, 2], [1, 2, 3]);
    close(r1!, 1 / 3);
    close(r2!, 2 / 3);
    close(r3!, 1);
  });

  it('ties are broken uniformly at random, in expectation', () => {
    const cases: Array<[number[], number, number[], string]> = [
      [[0.5, 0.5, 0.5, 0.1], 0, [1 / 3, 2 / 3, 1], 'three-way tie at the top: each place 1/3'],
      [[0.9, 0.5, 0.5], 1, [0, 1 / 2, 1], 'one better, one tied: rank 1 or 2'],
      [[0.5, 0.9, 0.5, 0.5], 3, [0, 1 / 3, 2 / 3], 'one better, two tied'],
    ];
    for (const [row, truth, want, why] of cases) {
      const got = recallAtK(row, 1, row.length, [truth], [1, 2, 3]);
      want.forEach((w, i) => close(got[i]!, w, why));
    }
    assert.equal(expectedHitAtK(0, 0, 1), 1);
    assert.equal(expectedHitAtK(5, 0, 1), 0);
  });

  it('a constant score matrix scores exactly chance, K / N', () => {
    const n = 10;
    const r = retrievalScores(new Float32Array(n * n).fill(0.3), n);
    const c = retrievalChance(n);
    assert.deepEqual(Object.keys(r), Object.keys(c));
    for (const k of Object.keys(c)) close(r[k]!, c[k]!, k);
    close(c.i2t_r1!, 0.1);
    close(c.t2i_r5!, 0.5);
    close(c.r_mean!, (0.1 + 0.5 + 1) / 3);
  });

  it('matching features (the identity) score 1 everywhere', () => {
    const n = 7;
    const eye = Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    const r = retrievalScores(eye, n);
    for (const [k, v] of Object.entries(r)) assert.equal(v, 1, k);
  });

  it('scores both directions: text->image reads the columns', () => {
    // images x texts: image 0 prefers text 0, image 1 prefers text 1 (i2t perfect);
    // text 1 prefers image 0 (0.9 > 0.5), so t2i R@1 = 1/2.
    const s = [1, 0.9, 0, 0.5];
    assert.deepEqual([...transposeScores(s, 2, 2)], [1, 0, 0.9, 0.5]);
    const r = retrievalScores(s, 2);
    assert.equal(r.i2t_r1, 1);
    assert.equal(r.t2i_r1, 0.5);
    assert.equal(r.t2i_r5, 1, 'R@K with K >= N is 1');
    assert.equal(retrievalChance(2).i2t_r5, 1, 'chance is capped at 1 too');
  });

  it('NaN never wins: a NaN correct score is a miss, NaN rivals do not count', () => {
    assert.deepEqual(recallAtK([NaN, 0.1, 0.2], 1, 3, [0], [1, 2, 3]), [0, 0, 1], 'ranked last: only K = N finds it');
    assert.deepEqual(recallAtK([0.1, NaN, NaN], 1, 3, [0], [1]), [1]);
  });

  it('rejects shapes that do not match', () => {
    assert.throws(() => recallAtK([1, 2, 3], 2, 2, [0, 1], [1]), RangeError);
    assert.throws(() => recallAtK([1, 2, 3, 4], 2, 2, [0, 2], [1]), RangeError);
  });
});
