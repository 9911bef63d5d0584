import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { lrFactor } from '../../src/ps/lr-schedule.js';

const base = resolveRunConfig({});
const coarse = base.optimizer.coarse; // linear, warmup 10% of 100k from 0
const fine = base.optimizer.fine; // multistep 0.67/0.89 of 800k, warmup 2000 from 0.001

describe('lrFactor', () => {
  const table: Array<[string, number, typeof coarse, number]> = [
    ['coarse warmup starts at 0 (HF polynomial schedule)', 0, coarse, 0],
    ['coarse warmup is linear', 5000, coarse, 0.5],
    ['coarse peak at the end of warmup', 10_000, coarse, 1],
    ['coarse decays linearly to 0', 55_000, coarse, 0.5],
    ['coarse ends at 0', 100_000, coarse, 0],
    ['fine warmup starts at 0.001', 0, fine, 0.001],
    ['fine warmup is linear from 0.001', 1000, fine, 0.001 + 0.999 * 0.5],
    ['fine flat after warmup', 2000, fine, 1],
    ['fine just before the first milestone', 535_999, fine, 1],
    ['fine x0.1 at 0.67 (536k)', 536_000, fine, 0.1],
    ['fine x0.01 at 0.89 (712k)', 712_000, fine, 0.01],
  ];
  for (const [why, step, opt, expected] of table) {
    it(why, () => assert.ok(Math.abs(lrFactor(step, opt) - expected) < 1e-12, `${lrFactor(step, opt)} vs ${expected}`));
  }

  it('cosine goes from 1 to 0 after warmup, constant stays at 1', () => {
    const cos = { ...coarse, schedule: 'cosine' as const };
    assert.equal(lrFactor(10_000, cos), 1);
    assert.ok(Math.abs(lrFactor(55_000, cos) - 0.5) < 1e-12);
    assert.ok(Math.abs(lrFactor(100_000, cos)) < 1e-12);
    assert.equal(lrFactor(99_000, { ...coarse, schedule: 'constant' as const }), 1);
  });
});
