import type { RunConfig, StageName } from '../config/index.js';

/**
 * Payload of a job on the stages queue (the coordinator's input). Versioned: a coordinator
 * refuses a version it does not know instead of guessing.
 */
export interface StageJobPayload {
  readonly version: 1;
  readonly run: string;
  readonly stage: StageName;
  readonly configHash: string;
  /** The resolved config, re-validated by the coordinator with parseRunConfig. */
  readonly config: RunConfig;
  /** Checkpoint URI to start from: --init, or the coarse stage's final checkpoint for fine; null = seeded init. */
  readonly init: string | null;
  /** ISO time of the submit. */
  readonly submittedAt: string;
}

export const STAGE_JOB_VERSION = 1;
