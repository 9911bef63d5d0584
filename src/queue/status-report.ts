import type { StepTime } from './step-time.js';
import type { StageName } from '../config/index.js';
import type { RunErrorEntry } from './run-errors.js';
import type { StageState } from './run-registry.js';

/**
 * What `fiber status --json` prints: docs/status.md documents every field. Additive changes keep
 * the schema id; a removal or a change of meaning bumps it.
 */
export const STATUS_SCHEMA = 'fiber.status/v1';

export interface QueueCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
}

export interface StageStatus {
  readonly stage: StageName;
  readonly state: StageState;
  readonly jobId: string;
  readonly submittedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly init: string | null;
  readonly checkpoint: string | null;
  readonly error: string | null;
  readonly cancelRequested: boolean;
  /** Last completed optimizer step (null before the first). */
  readonly step: number | null;
  readonly totalSteps: number;
  readonly samplesPerSec: number | null;
  readonly etaSeconds: number | null;
  readonly lr: number | null;
  /** Smoothed loss by objective (itc, itm, mlm; focal, giou, centerness) and `total`. */
  readonly losses: Readonly<Record<string, number>>;
  /** Samples skipped as bad input, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** The latest held-out evaluation during training (eval.everySteps), or null. */
  readonly eval: { readonly step: number; readonly task: 'retrieval' | 'grounding'; readonly scores: Readonly<Record<string, number>> } | null;
  /**
   * Where the stage's step time went so far (summed over its steps, seconds by cause) and its
   * goodput, compute ÷ wall (docs/status.md); null before the first step reports it.
   */
  readonly time: { readonly goodput: number; readonly seconds: StepTime } | null;
}

export interface RunStatus {
  readonly name: string;
  readonly state: StageState;
  readonly preset: string;
  readonly configHash: string;
  readonly createdAt: string;
  readonly cancelledAt: string | null;
  readonly stages: readonly StageStatus[];
  /** The newest problems (failed task attempts, stage restarts, failures), newest first, at most 5. */
  readonly errors: readonly RunErrorEntry[];
}

export interface WorkerStatus {
  readonly id: string;
  readonly host: string;
  readonly backend: string;
  /** idle, busy, draining, stopped; `lost` when its heartbeat is older than 30 s. */
  readonly state: string;
  readonly task: string | null;
  readonly tasksDone: number;
  readonly lastHeartbeat: string;
}

/** The parameter-server shard 0 holding the coordinator lease (docs/reliability.md). */
export interface CoordinatorStatus {
  readonly host: string;
  readonly pid: number;
  /** Its --shards. */
  readonly shards: number;
  /** Fencing token: grows with every new holder. */
  readonly token: number;
  readonly since: string;
}

export interface StatusReport {
  readonly schema: typeof STATUS_SCHEMA;
  readonly generatedAt: string;
  readonly redis: { readonly url: string; readonly version: string };
  /** Who coordinates stages now; null when no shard 0 holds the lease (none is up, or its lease lapsed). Absent where not asked. */
  readonly coordinator?: CoordinatorStatus | null;
  readonly queues: { readonly stages: QueueCounts; readonly tasks: QueueCounts };
  readonly runs: readonly RunStatus[];
  /** Every worker that has reported, newest heartbeat first. */
  readonly workers: readonly WorkerStatus[];
}
