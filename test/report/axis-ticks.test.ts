import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNumber, linearTicks, logTicks } from '../../src/report/axis-ticks.js';

describe('axis ticks', () => {
  it('linear ticks are 1/2/5 x 10^k and cover the data', () => {
    const rows: [lo: number, hi: number, count: number, ticks: number[], why: string][] = [
      [0, 200, 5, [0, 50, 100, 150, 200], 'steps'],
      [0.27, 3.1, 5, [0, 1, 2, 3, 4], 'losses'],
      [0.1, 0.7, 6, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], 'tenths: 0.3, not 0.30000000000000004'],
      [5, 5, 5, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6], 'one value gets a range around it'],
      [0, 0, 5, [-1, -0.5, 0, 0.5, 1], 'zero too'],
    ];
    for (const [lo, hi, count, ticks, why] of rows) {
      const axis = linearTicks(lo, hi, count);
      assert.deepEqual(axis.ticks, ticks, why);
      assert.ok(axis.min <= lo && axis.max >= hi, why);
    }
  });

  it('log ticks are decades, with 2x and 5x when they span two or fewer', () => {
    assert.deepEqual(logTicks(0.01, 50).ticks, [0.01, 0.1, 1, 10, 100]);
    assert.deepEqual(logTicks(0.3, 4).ticks, [0.1, 0.2, 0.5, 1, 2, 5, 10]);
  });

  it('formats numbers short', () => {
    assert.deepEqual([0, 0.1 + 0.2, 1e-4, 5e-5, 123456, 2.5, -3].map(formatNumber), ['0', '0.3', '1e-4', '5e-5', '1.23e+5', '2.5', '-3']);
  });
});
