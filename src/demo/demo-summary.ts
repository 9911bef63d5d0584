import type { StageName } from '../config/index.js';
import type { StepTime } from '../queue/step-time.js';

/** One stage's outcome as the demo reports it; every number comes from the run. */
export interface DemoStageSummary {
  readonly stage: StageName;
  readonly state: string;
  readonly steps: number;
  /** Mean total loss over the first and the last 10 steps (from the stored per-step metrics). */
  readonly lossFirst: number | null;
  readonly lossLast: number | null;
  /** Mean samples/s over the stage. */
  readonly samplesPerSec: number | null;
  /** Compute ÷ wall time over the stage's steps (docs/status.md, "Goodput"). */
  readonly goodput: number | null;
  /** The steps' wall time summed by cause (seconds; the metrics entries' `time`), null when none carried it. */
  readonly time: StepTime | null;
  readonly seconds: number;
  /** The final checkpoint (step directory URI) and its named-weights file with its sha256. */
  readonly checkpoint: string | null;
  readonly modelFile: string | null;
  readonly modelSha256: string | null;
}

/** Scores of one evaluation next to the same evaluation of the stage's starting weights. */
export interface DemoEval {
  readonly task: 'retrieval' | 'grounding';
  readonly n: number;
  readonly scores: Readonly<Record<string, number>>;
  readonly untrained: Readonly<Record<string, number>>;
  readonly chance: Readonly<Record<string, number>>;
}

export interface DemoSummary {
  readonly run: string;
  readonly workers: number;
  readonly shards: number;
  readonly seed: number;
  readonly data: { readonly train: string; readonly eval: string; readonly generated: boolean };
  readonly stages: readonly DemoStageSummary[];
  readonly evals: readonly DemoEval[];
  readonly report: { readonly html: string; readonly pngs: readonly string[] } | null;
  readonly logs: string;
  readonly seconds: number;
  /** Children restarted after dying, by name (ps-1, worker-0, ...); empty when none died. */
  readonly restarts: Readonly<Record<string, number>>;
  /** What `--chaos` killed, when it was on. */
  readonly chaos: { readonly everySeconds: number; readonly seed: number; readonly kills: ReadonlyArray<{ readonly at: number; readonly name: string }> } | null;
}
