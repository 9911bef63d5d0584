import type { StepTime } from '../queue/step-time.js';

/** One task's own timings (TaskResult.timings) plus what the coordinator saw of its attempts. */
export interface TaskTiming {
  readonly worker: string;
  readonly pullMs: number;
  readonly dataMs: number;
  readonly computeMs: number;
  readonly pushMs: number;
  /** Worker-side time outside the four above: stage setup, connects, thread messages. */
  readonly otherMs: number;
  /** Time from the step's start to this task's last attempt, if earlier attempts failed or stalled. */
  readonly failedMs: number;
}

/** The coordinator's clock for one step, all in ms from the moment it queued the step's tasks. */
export interface StepClock {
  /** Every shard reported the new version. */
  readonly appliedMs: number;
  /** The last task result was written (its job finished): the workers' part ends here. Null: unknown. */
  readonly lastTaskMs: number | null;
  /** Task results collected and the progress report ready. */
  readonly stepMs: number;
  /** Checkpoint written after the step (0 when none). */
  readonly checkpointMs: number;
  /** A restart of the stage (a lost shard) spent before this step began: added to its wall time. */
  readonly restartMs: number;
}

const nn = (x: number) => (Number.isFinite(x) && x > 0 ? x : 0);
const sec = (ms: number) => Math.round(ms) / 1000;

/**
 * Split a step's wall time by cause (docs/status.md, "Goodput"). The workers' window is the time
 * from queueing to the last task's result; in it each worker-side cause is averaged over the
 * workers that took part, and what is left of the window is time spent waiting for the slowest
 * task (or for a worker to take one). From there to every shard's new version is the optimizer;
 * collecting results is `other`; the checkpoint and a preceding restart add their own time.
 * Overlap (staleness, clock skew between machines) can make the workers' averages exceed the
 * window: they are then scaled down to fit, so the parts always sum to the wall time and none is
 * negative.
 */
export function splitStepTime(clock: StepClock, tasks: readonly TaskTiming[]): StepTime {
  const applied = nn(clock.appliedMs);
  const step = Math.max(applied, nn(clock.stepMs));
  const window = clock.lastTaskMs === null ? applied : Math.min(applied, nn(clock.lastTaskMs));
  const workers = new Set(tasks.map((t) => t.worker)).size;
  const avg = (f: (t: TaskTiming) => number) => (workers === 0 ? 0 : tasks.reduce((a, t) => a + nn(f(t)), 0) / workers);
  const parts = {
    compute: avg((t) => t.computeMs), data: avg((t) => t.dataMs), pull: avg((t) => t.pullMs),
    push: avg((t) => t.pushMs), other: avg((t) => t.otherMs), failures: avg((t) => t.failedMs),
  };
  const busy = Object.values(parts).reduce((a, b) => a + b, 0);
  const scale = busy > window && busy > 0 ? window / busy : 1;
  // No result at all (results lost): the window is unexplained, not a straggler.
  const straggler = workers === 0 ? 0 : window - busy * scale;
  const unexplained = workers === 0 ? window : 0;
  const ms = {
    compute: parts.compute * scale,
    data: parts.data * scale,
    pull: parts.pull * scale,
    push: parts.push * scale,
    straggler,
    optimizer: applied - window,
    checkpoint: nn(clock.checkpointMs),
    failures: parts.failures * scale + nn(clock.restartMs),
    other: parts.other * scale + unexplained + (step - applied),
  };
  const out = {
    workers,
    compute: sec(ms.compute), data: sec(ms.data), pull: sec(ms.pull), push: sec(ms.push), straggler: sec(nn(ms.straggler)),
    optimizer: sec(nn(ms.optimizer)), checkpoint: sec(ms.checkpoint), failures: sec(ms.failures), other: sec(nn(ms.other)),
  };
  // The wall is the sum of the rounded parts: they add up exactly, and it differs from the
  // clock's own total by at most the rounding of nine parts (< 5 ms).
  const wall = Math.round(1000 * (out.compute + out.data + out.pull + out.push + out.straggler + out.optimizer + out.checkpoint + out.failures + out.other)) / 1000;
  return { wall, ...out };
}
