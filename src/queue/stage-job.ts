import { z } from 'zod';
import { STAGE_NAMES, type RunConfig, type StageName } from '../config/index.js';
import { parseRecord } from './contract.js';

export const STAGE_JOB_VERSION = 1;

/**
 * Payload of a job on the stages queue (the coordinator's input). Versioned: a coordinator
 * refuses a version it does not know instead of guessing.
 */
export interface StageJobPayload {
  readonly version: typeof STAGE_JOB_VERSION;
  readonly run: string;
  readonly stage: StageName;
  readonly configHash: string;
  /** The resolved config, re-validated by the coordinator with parseStoredRunConfig. */
  readonly config: RunConfig;
  /** Checkpoint URI to start from: --init, or the coarse stage's final checkpoint for fine; null = seeded init. */
  readonly init: string | null;
  /** ISO time of the submit. */
  readonly submittedAt: string;
}

/**
 * The payload around its config. The config is validated apart (parseStoredRunConfig), so the
 * coordinator can tell a job it cannot read (refused) from a run whose config is invalid (failed
 * in the registry, where `fiber status` shows it).
 */
const stageJobEnvelope = z.object({
  version: z.literal(STAGE_JOB_VERSION),
  run: z.string(),
  stage: z.enum(STAGE_NAMES),
  configHash: z.string(),
  config: z.unknown(),
  init: z.string().nullable(),
  submittedAt: z.string(),
});

export type StageJobEnvelope = Omit<StageJobPayload, 'config'> & { readonly config: unknown };

export function parseStageJobEnvelope(data: unknown): StageJobEnvelope {
  return parseRecord(stageJobEnvelope, data, 'stage job payload');
}
