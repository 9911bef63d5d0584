import type { TokenizerIdentity } from '../data/pipeline/tokenizer-identity.js';
import { joinUrl } from '../storage/url.js';
import type { CheckpointFile } from '../queue/ps-control.js';
import type { DeliveryLedger } from './delivery-ledger.js';

export type { CheckpointFile };

/**
 * Where a stage's checkpoints live, under `checkpoint.uri` (s3://bucket/prefix, file:///path or
 * a local path):
 *
 *   <uri>/<run>/<stage>/step-00000050/shard-0-of-2.safetensors   parameters + AdamW moments
 *   <uri>/<run>/<stage>/step-00000050/model.safetensors          named weights (final step only)
 *   <uri>/<run>/<stage>/step-00000050/manifest.json              written after every shard file
 *   <uri>/<run>/<stage>/latest                                   "step-00000050", written last
 *
 * A reader goes latest -> manifest -> files, so it never sees a checkpoint whose files are not
 * all there: the manifest appears only after them, the pointer only after the manifest.
 */
export const CHECKPOINT_FORMAT = 'fiber.checkpoint/v1';

export function stageDir(uri: string, run: string, stage: string): string {
  return joinUrl(uri, run, stage);
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

export function shardFileName(shard: number, numShards: number): string {
  return `shard-${shard}-of-${numShards}.safetensors`;
}

export const MODEL_FILE = 'model.safetensors';
export const MANIFEST_FILE = 'manifest.json';
export const LATEST_FILE = 'latest';

export interface CheckpointManifest {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly run: string;
  readonly stage: string;
  /** Optimizer steps applied: the parameters are at version `step`. */
  readonly step: number;
  readonly configHash: string;
  /** The resolved run config (no secrets: credentials never enter the config). */
  readonly config: unknown;
  readonly numShards: number;
  readonly totalElements: number;
  /** Parameter names and shapes in flat order (the layout's source). */
  readonly params: ReadonlyArray<{ readonly name: string; readonly shape: readonly number[] }>;
  readonly files: readonly CheckpointFile[];
  /** Named weights file (final checkpoints), or null. */
  readonly model: CheckpointFile | null;
  /** What resuming needs besides tensors: the next step is `step`; sample order is a pure function of it. */
  readonly dataCursor: { readonly nextStep: number };
  readonly seeds: { readonly seed: number };
  /** Where the stage started from (null: seeded init). */
  readonly init: string | null;
  /**
   * The tokenizer the weights' token ids belong to (data.tokenizer, with its content hash).
   * Absent in manifests written before fiber recorded it: unknown, not checked.
   */
  readonly tokenizer?: TokenizerIdentity;
  /**
   * Which samples steps 0..step-1 consumed (delivery-ledger.ts), read by `fiber ledger`.
   * Absent in manifests written before fiber kept one.
   */
  readonly ledger?: DeliveryLedger;
  readonly createdAt: string;
}
