import { z } from 'zod';
import { STAGE_NAMES } from '../config/index.js';
import { parseRecord } from './contract.js';

/** Gradient task payload on the tasks queue (versioned like stage jobs): the coordinator writes it, a worker reads it. */
const taskJobSchema = z.object({
  version: z.literal(1),
  run: z.string(),
  stage: z.enum(STAGE_NAMES),
  epoch: z.string(),
  step: z.number().int().nonnegative(),
  task: z.number().int().nonnegative(),
  /** The parameter version the gradient is computed on: `step` unless the stage allows staleness. */
  basis: z.number().int().nonnegative().optional(),
}).readonly();
export type TaskJobPayload = z.output<typeof taskJobSchema>;

/**
 * What a worker returns for a task (the job's return value): summed into the step's progress by
 * the coordinator. A loss that was NaN arrives as null (JSON has no NaN).
 */
const taskResultSchema = z.object({
  samples: z.number().int().nonnegative(),
  /** Sum over the task's samples of each objective's per-sample loss (mean x count per micro-batch). */
  lossSums: z.record(z.string(), z.number().nullable()),
  skipped: z.record(z.string(), z.number()),
  worker: z.string(),
  backend: z.string(),
  computeMs: z.number(),
  /**
   * Where the task's time went on the worker, in ms (the coordinator's goodput split): pulling
   * parameters, waiting for the data loader, forward/backward (computeMs less the data wait),
   * pushing gradients, and the task's whole time from taking the job to its result. Absent from
   * workers older than the field.
   */
  timings: z.object({
    pullMs: z.number().nonnegative(), dataMs: z.number().nonnegative(), computeMs: z.number().nonnegative(),
    pushMs: z.number().nonnegative(), totalMs: z.number().nonnegative(),
  }).optional(),
  /** 'stale' when the step had already been applied (a retry): nothing was counted. */
  pushed: z.enum(['accepted', 'duplicate', 'stale']),
}).readonly();
export type TaskResult = z.output<typeof taskResultSchema>;

export const parseTaskJob = (data: unknown): TaskJobPayload => parseRecord(taskJobSchema, data, 'gradient task payload');
export const parseTaskResult = (data: unknown): TaskResult => parseRecord(taskResultSchema, data, 'gradient task result');

/** Deterministic id of task (step, task) of an epoch: a re-queued step adds nothing. */
export function taskJobId(run: string, stage: string, epoch: string, step: number, task: number): string {
  return `${run}.${stage}.e${epoch}.s${step}.t${task}`;
}
