import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { taskTiming } from '../../src/ps/step-timing.js';
import type { TaskResult } from '../../src/queue/task-job.js';

const result: TaskResult = {
  samples: 4, lossSums: {}, skipped: {}, worker: 'w1', backend: 'cpu', computeMs: 900, pushed: 'accepted',
  timings: { pullMs: 100, dataMs: 200, computeMs: 700, pushMs: 50, totalMs: 1100 },
};

describe('taskTiming', () => {
  it('a first attempt (BullMQ counts its finish in attemptsMade too) lost nothing', () => {
    assert.deepEqual(taskTiming({ attemptsStarted: 1, attemptsMade: 1, processedOn: 5000 }, result, 1000),
      { worker: 'w1', pullMs: 100, dataMs: 200, computeMs: 700, pushMs: 50, otherMs: 50, failedMs: 0 });
  });

  it('a task started twice (failed or stalled before) lost the time up to its last start', () => {
    assert.equal(taskTiming({ attemptsStarted: 2, attemptsMade: 1, processedOn: 5000 }, result, 1000).failedMs, 4000);
    assert.equal(taskTiming({ attemptsMade: 2, processedOn: 3000 }, result, 1000).failedMs, 2000);
  });

  it('a result without timings (an older worker) counts its computeMs as compute', () => {
    const { timings: _, ...old } = result;
    assert.equal(taskTiming({ attemptsStarted: 1, attemptsMade: 1, processedOn: 0 }, old, 0).computeMs, 900);
  });
});
