import { z } from 'zod';
import type { Redis } from 'ioredis';
import { STAGE_NAMES, type StageName } from '../config/stage.js';
import { parseRecord } from './contract.js';
import { evalsKey, registryKeys } from './keys.js';

/** What `fiber eval` measures: zero-shot retrieval (coarse checkpoints) or phrase grounding (fine). */
export const EVAL_TASKS = ['retrieval', 'grounding'] as const;
export type EvalTask = (typeof EVAL_TASKS)[number];

/** Job name of in-training evaluations on the tasks queue (gradient tasks are `<stage>-step`). */
export const EVAL_JOB_NAME = 'eval';

/** An evaluation of one checkpoint during training (eval.everySteps), queued by the coordinator, taken by any worker. */
const evalJobSchema = z.object({
  version: z.literal(1),
  run: z.string(),
  stage: z.enum(STAGE_NAMES),
  step: z.number().int().nonnegative(),
  /** The checkpoint's step directory. */
  checkpoint: z.string(),
  task: z.enum(EVAL_TASKS),
  data: z.array(z.string()).readonly(),
  limit: z.number(),
}).readonly();
export type EvalJobPayload = z.output<typeof evalJobSchema>;

export const parseEvalJob = (data: unknown): EvalJobPayload => parseRecord(evalJobSchema, data, 'evaluation job payload');

/** One evaluation per (run, stage, step): a coordinator that repeats a checkpoint does not repeat it. */
export const evalJobId = (run: string, stage: StageName, step: number) => `${run}.${stage}.eval.${step}`;

/** The part of an evaluation's result that `fiber status` and `fiber report` keep. */
export interface EvalScores {
  readonly task: EvalTask;
  readonly scores: Readonly<Record<string, number>>;
  readonly chance: Readonly<Record<string, number>>;
  readonly n: number;
}

/**
 * Store a finished evaluation: a line of the stage's evals list (for `fiber report`) and the
 * stage's latest `eval.*` fields (for `fiber status`), unless a later step's are already there.
 */
export async function recordEval(redis: Redis, p: EvalJobPayload, r: EvalScores, now = Date.now()): Promise<void> {
  const line = { step: p.step, t: now, task: r.task, scores: r.scores, chance: r.chance, n: r.n };
  const stageKey = registryKeys.stage(p.run, p.stage);
  const current = Number(await redis.hget(stageKey, 'eval.step') ?? -1);
  const m = redis.multi().rpush(evalsKey(p.run, p.stage), JSON.stringify(line));
  if (p.step >= current) {
    const fields: Record<string, string> = { 'eval.step': String(p.step), 'eval.task': r.task };
    for (const [k, v] of Object.entries(r.scores)) fields[`eval.score.${k}`] = String(v);
    m.hset(stageKey, fields);
  }
  await m.exec();
}
