import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendDelivery, checkLedger, emptyLedger, stepDelivery, verifyLedgerIds, type DeliveryLedger } from '../../src/ps/delivery-ledger.js';

// Two datasets of 7 and 3 samples: E = 10 items per epoch; B = 4 over T = 3 slots, so steps
// straddle epoch boundaries (step 2 reads ranks 8, 9 of epoch 0 and 0, 1 of epoch 1).
const data = { sizes: [7, 3], weights: [1, 1] };
const plan = { seed: 5, globalBatch: 4, tasksPerStep: 3 };
function run(steps: number): DeliveryLedger {
  let l = emptyLedger(plan.globalBatch);
  for (let v = 0; v < steps; v++) l = appendDelivery(l, stepDelivery(data, plan, v));
  return l;
}

describe('delivery ledger', () => {
  it('records each step as epoch rank ranges, merged into one segment per epoch', () => {
    const d = stepDelivery(data, plan, 2);
    assert.deepEqual(d.parts.map((p) => [p.epoch, p.start, p.end]), [[0, 8, 10], [1, 0, 2]]);
    const l = run(10);
    assert.deepEqual(l.segments.map((s) => [s.epoch, s.start, s.end, s.fromStep, s.toStep]), [[0, 0, 10, 0, 3], [1, 0, 10, 2, 5], [2, 0, 10, 5, 8], [3, 0, 10, 7, 10]]);
    assert.equal(l.epochItems, 10);
    assert.deepEqual(checkLedger(l, 10), []);
  });

  it('a duplicated range is named with its ranks and steps', () => {
    const l = run(6);
    const dup = { ...l, segments: [...l.segments, l.segments[0]!] };
    const problems = checkLedger(dup, 6);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.kind, 'duplicated');
    assert.match(problems[0]!.message, /epoch 0 ranks \[0, 10\) \(10 samples, steps 0\.\.2\) consumed twice/);
  });

  it('a missing range is named, in the middle and at the end', () => {
    const l = run(6);
    const mid = checkLedger({ ...l, segments: l.segments.filter((s) => s.epoch !== 1) }, 6);
    assert.deepEqual(mid.map((p) => p.kind), ['missing']);
    assert.match(mid[0]!.message, /epoch 1 ranks \[0, 10\) \(10 samples, steps 2\.\.4\) never consumed/);
    const short = checkLedger(run(5), 6);
    assert.match(short[0]!.message, /epoch 2 ranks \[0, 4\) \(4 samples, step 5\) never consumed/);
  });

  it('a segment whose steps do not match its ranks is a mismatch', () => {
    const l = run(3);
    const moved = { ...l, segments: [{ ...l.segments[0]!, fromStep: 1 }, ...l.segments.slice(1)] };
    assert.ok(checkLedger(moved, 3).some((p) => p.kind === 'mismatch' && /claims steps 1\.\.2/.test(p.message)));
  });

  it('a ledger started after step 0 says those steps are unrecorded', () => {
    let l = emptyLedger(plan.globalBatch, 2);
    for (let v = 2; v < 4; v++) l = appendDelivery(l, stepDelivery(data, plan, v));
    assert.deepEqual(checkLedger(l, 4).map((p) => p.kind), ['unrecorded']);
  });

  it('--verify recomputes the ids: the same data passes, other data or a tampered hash fails', () => {
    const l = run(6);
    assert.deepEqual(verifyLedgerIds(l, data, plan), []);
    assert.match(verifyLedgerIds(l, { sizes: [7, 4], weights: [1, 1] }, plan)[0]!.message, /11 items per epoch, the ledger was written for 10/);
    const tampered = { ...l, segments: l.segments.map((s, i) => (i === 1 ? { ...s, ids: '0'.repeat(32) } : s)) };
    assert.match(verifyLedgerIds(tampered, data, plan)[0]!.message, /epoch 1 ranks \[0, 10\) \(steps 2\.\.4\): the recorded sample ids differ/);
    assert.notDeepEqual(verifyLedgerIds(l, data, { ...plan, seed: 6 }), [], 'another seed is another permutation');
  });
});
