import type { z } from 'zod';
import type { runConfigSchema } from './run-config-schema.js';
export type { StageName } from './stage.js';

// Mapped types keep tuples as tuples (betas stays [number, number]).
type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** A validated run config: parsed once at the boundary (parseRunConfig), read-only afterwards. */
export type RunConfig = DeepReadonly<z.infer<typeof runConfigSchema>>;
export type ModelSection = RunConfig['model'];
export type CoarseDataConfig = RunConfig['data']['coarse'];
export type FineDataConfig = RunConfig['data']['fine'];
export type BatchConfig = RunConfig['batch']['coarse'];
export type OptimizerConfig = RunConfig['optimizer']['coarse'];
export type CheckpointConfig = RunConfig['checkpoint'];

/** Micro-batches each task accumulates: globalBatch / (tasksPerStep * microBatch), exact by validation. */
export function microStepsPerTask(batch: BatchConfig): number {
  return batch.globalBatch / (batch.tasksPerStep * batch.microBatch);
}

/** Warmup length in steps after resolving warmupSteps / warmupFraction. */
export function warmupSteps(opt: OptimizerConfig): number {
  return opt.warmupSteps ?? Math.round(opt.warmupFraction * opt.totalSteps);
}
