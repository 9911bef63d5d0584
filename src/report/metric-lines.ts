import { z } from 'zod';
import { stepTimeSchema } from '../queue/step-time.js';

/*
 * The JSON lines of `fiber:metrics:<run>:<stage>` (written by the coordinator) and
 * `fiber:evals:<run>:<stage>` (written by evaluation), validated once here so the charts below
 * never meet a missing field. Unknown fields are dropped, not rejected: a writer may add some.
 * A NaN loss or lr reaches JSON as `null` (JSON.stringify(NaN)); it is kept, as NaN, because a
 * diverged step is exactly what a report must show (as a gap), not a malformed line.
 */

const maybeNumber = z.number().nullable().transform((v) => (v === null ? Number.NaN : v));

const stepMetricSchema = z.object({
  step: z.number().int().nonnegative(),
  /** Wall-clock time the step was recorded, ms since the epoch. */
  t: z.number(),
  /** Seconds the step took, queueing its tasks to all shards applying it. */
  seconds: z.number().nonnegative(),
  samples: z.number().int().nonnegative(),
  /** Mean raw (unsmoothed) loss per objective over the step's samples; `{}` if its results were lost. */
  losses: z.record(z.string(), maybeNumber),
  lr: maybeNumber,
  /** Where the step's wall time went, by cause (queue/step-time.ts); absent from older runs. */
  time: stepTimeSchema.optional(),
});

/** An evaluation task's name doubles as part of a PNG file name, hence the narrow pattern. */
export const EVAL_TASK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

const evalRecordSchema = z.object({
  step: z.number().int().nonnegative(),
  t: z.number(),
  /** `retrieval` (scores i2t_r1, i2t_r5, i2t_r10, t2i_r1, ...) or `grounding` (acc50); others are charted the same way. */
  task: z.string().regex(EVAL_TASK_PATTERN),
  scores: z.record(z.string(), maybeNumber),
  /** How many examples the scores are over. */
  n: z.number().int().nonnegative(),
});

export type StepMetric = z.infer<typeof stepMetricSchema>;
export type EvalRecord = z.infer<typeof evalRecordSchema>;

/** One metrics line, or null if it is not JSON or not the coordinator's shape. */
export function parseStepMetric(line: string): StepMetric | null {
  return parseLine(line, stepMetricSchema);
}

/** One evals line, or null if it is not JSON or not the evaluator's shape. */
export function parseEvalRecord(line: string): EvalRecord | null {
  return parseLine(line, evalRecordSchema);
}

function parseLine<T>(line: string, schema: z.ZodType<T>): T | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null; // the caller counts it: a malformed line is reported, not fatal
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : null;
}
