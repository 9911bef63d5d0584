import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ema } from '../../src/report/ema.js';

describe('ema', () => {
  it('matches a hand computation (alpha is the weight of the newest value)', () => {
    // s0 = 1; s1 = 0.5*2 + 0.5*1 = 1.5; s2 = 0.5*3 + 0.5*1.5 = 2.25; s3 = 0.5*0 + 0.5*2.25 = 1.125
    assert.deepEqual(ema([1, 2, 3, 0], 0.5), [1, 1.5, 2.25, 1.125]);
    // The coordinator's smoothing: 0.9 * s + 0.1 * x.
    const [a, b] = ema([10, 0], 0.1);
    assert.equal(a, 10);
    assert.ok(Math.abs(b! - 9) < 1e-12);
  });

  it('alpha 1 is the identity; empty in, empty out', () => {
    assert.deepEqual(ema([3, 1, 2], 1), [3, 1, 2]);
    assert.deepEqual(ema([], 0.1), []);
  });

  it('a non-finite value is a gap that leaves the average alone', () => {
    const out = ema([NaN, 2, Infinity, 4], 0.5);
    assert.ok(Number.isNaN(out[0]));
    assert.equal(out[1], 2, 'the first finite value starts the average');
    assert.ok(Number.isNaN(out[2]));
    assert.equal(out[3], 3);
  });

  it('rejects an alpha outside (0, 1]', () => {
    for (const alpha of [0, -0.1, 1.5, NaN]) assert.throws(() => ema([1], alpha), RangeError);
  });
});
