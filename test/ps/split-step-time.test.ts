import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitStepTime, type TaskTiming } from '../../src/ps/split-step-time.js';
import { goodput, STEP_TIME_CAUSES, sumStepTimes, topLosses, type StepTime } from '../../src/queue/step-time.js';

const task = (worker: string, over: Partial<TaskTiming> = {}): TaskTiming => ({ worker, pullMs: 0, dataMs: 0, computeMs: 0, pushMs: 0, otherMs: 0, failedMs: 0, ...over });
const partsSum = (t: StepTime) => STEP_TIME_CAUSES.reduce((a, c) => a + t[c], 0);

describe('splitStepTime', () => {
  it('one worker, two tasks in a row: its own timings, the rest to the optimizer and the checkpoint', () => {
    const t = splitStepTime({ appliedMs: 1100, lastTaskMs: 1000, stepMs: 1120, checkpointMs: 300, restartMs: 0 }, [
      task('w1', { pullMs: 100, dataMs: 50, computeMs: 300, pushMs: 40, otherMs: 10 }),
      task('w1', { dataMs: 50, computeMs: 300, pushMs: 40, otherMs: 10 }),
    ]);
    assert.deepEqual(t, {
      wall: 1.42, workers: 1, compute: 0.6, data: 0.1, pull: 0.1, push: 0.08, straggler: 0.1,
      optimizer: 0.1, checkpoint: 0.3, failures: 0, other: 0.04,
    });
    assert.ok(Math.abs(goodput(t) - 0.6 / 1.42) < 1e-12);
  });

  it('two workers: their causes are averaged and the faster one\'s idle time is the straggler\'s', () => {
    const t = splitStepTime({ appliedMs: 1000, lastTaskMs: 1000, stepMs: 1000, checkpointMs: 0, restartMs: 0 }, [
      task('a', { computeMs: 1000 }),
      task('b', { computeMs: 400 }),
    ]);
    assert.equal(t.workers, 2);
    assert.equal(t.compute, 0.7);
    assert.equal(t.straggler, 0.3);
    assert.equal(t.wall, 1);
  });

  it('a retried task and a restart count as time lost to failures', () => {
    const t = splitStepTime({ appliedMs: 5000, lastTaskMs: 4900, stepMs: 5000, checkpointMs: 0, restartMs: 2000 }, [
      task('a', { computeMs: 500, failedMs: 4000 }),
    ]);
    assert.equal(t.failures, 6);
    assert.equal(t.wall, 7);
    assert.equal(partsSum(t), t.wall);
  });

  it('overlapping timings (staleness, clock skew) are scaled into the window: never negative, always the wall', () => {
    const t = splitStepTime({ appliedMs: 1000, lastTaskMs: 1500, stepMs: 900, checkpointMs: -5, restartMs: Number.NaN }, [
      task('a', { computeMs: 1500, pullMs: 500 }),
    ]);
    for (const c of STEP_TIME_CAUSES) assert.ok(t[c] >= 0, `${c} ${t[c]}`);
    assert.equal(t.compute, 0.75);
    assert.equal(t.pull, 0.25);
    assert.equal(t.wall, 1);
  });

  it('a step whose results were lost has its window as other, not as a straggler', () => {
    const t = splitStepTime({ appliedMs: 800, lastTaskMs: null, stepMs: 30_800, checkpointMs: 0, restartMs: 0 }, []);
    assert.equal(t.workers, 0);
    assert.equal(t.straggler, 0);
    assert.equal(t.other, 30.8);
    assert.equal(goodput(t), 0);
  });

  it('parts add up to the wall within rounding for awkward numbers', () => {
    const t = splitStepTime({ appliedMs: 1234.5678, lastTaskMs: 1111.1111, stepMs: 1240.0001, checkpointMs: 33.3333, restartMs: 0 }, [
      task('a', { computeMs: 333.3333, dataMs: 111.1111, pullMs: 77.7777, pushMs: 55.5555, otherMs: 1.2345 }),
      task('b', { computeMs: 444.4444, dataMs: 22.2222, pushMs: 66.6666 }),
    ]);
    assert.ok(Math.abs(partsSum(t) - t.wall) < 1e-9);
    assert.ok(Math.abs(t.wall - 1.2733) < 0.005);
  });
});

describe('step time totals', () => {
  it('sums steps and ranks the non-compute causes', () => {
    const a = splitStepTime({ appliedMs: 1000, lastTaskMs: 900, stepMs: 1000, checkpointMs: 0, restartMs: 0 }, [task('a', { computeMs: 500, dataMs: 300 })]);
    const b = splitStepTime({ appliedMs: 1000, lastTaskMs: 900, stepMs: 1000, checkpointMs: 1000, restartMs: 0 }, [task('a', { computeMs: 500, dataMs: 300 }), task('b', { computeMs: 800 })]);
    const sum = sumStepTimes([a, b]);
    assert.equal(sum.wall, 3);
    assert.equal(sum.workers, 2);
    assert.equal(sum.compute, 0.5 + 0.65);
    assert.deepEqual(topLosses(sum, 2).map((l) => l.cause), ['checkpoint', 'data']);
  });
});
