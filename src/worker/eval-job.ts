import type { Redis } from 'ioredis';
import type { StageName } from '../config/index.js';
import type { EvalResult, EvalTask } from '../eval/eval-result.js';
import { evalsKey, registryKeys } from '../queue/keys.js';

/** Job name of in-training evaluations on the tasks queue (gradient tasks are `<stage>-step`). */
export const EVAL_JOB_NAME = 'eval';

/** An evaluation of one checkpoint during training (eval.everySteps), taken by any worker. */
export interface EvalJobPayload {
  readonly version: 1;
  readonly run: string;
  readonly stage: StageName;
  readonly step: number;
  /** The checkpoint's step directory. */
  readonly checkpoint: string;
  readonly task: EvalTask;
  readonly data: readonly string[];
  readonly limit: number;
}

/** One evaluation per (run, stage, step): a coordinator that repeats a checkpoint does not repeat it. */
export const evalJobId = (run: string, stage: StageName, step: number) => `${run}.${stage}.eval.${step}`;

/**
 * Store a finished evaluation: a line of the stage's evals list (for `fiber report`) and the
 * stage's latest `eval.*` fields (for `fiber status`), unless a later step's are already there.
 */
export async function recordEval(redis: Redis, p: EvalJobPayload, r: EvalResult, now = Date.now()): Promise<void> {
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
