import type { Redis } from 'ioredis';
import { STAGE_NAMES, type StageName } from '../config/index.js';
import { evalsKey, metricsKey } from '../queue/keys.js';
import { parseEvalRecord, parseStepMetric, type EvalRecord, type StepMetric } from './metric-lines.js';

export interface StageMetrics {
  /** One record per step, in step order; a replayed step keeps its latest record. */
  readonly steps: readonly StepMetric[];
  /** Every evaluation, in the order written. */
  readonly evals: readonly EvalRecord[];
  /** Lines skipped because they were not valid JSON of the expected shape. */
  readonly malformed: { readonly metrics: number; readonly evals: number };
}

export type RunMetrics = Readonly<Record<StageName, StageMetrics>>;

/** LRANGE page size: a 100k-step list is ~20 MB, too much for one reply on a shared Redis. */
const PAGE = 5000;

/** The raw JSON lines of one stage, from Redis or from the history beside the checkpoints. */
export interface StageLines {
  readonly metrics: readonly string[];
  readonly evals: readonly string[];
}

/** Read and validate every metrics and evals line of a run's stages from Redis. Only reads. */
export async function collectRunMetrics(redis: Redis, run: string): Promise<RunMetrics> {
  const lines = await Promise.all(STAGE_NAMES.map(async (stage) => {
    const [metrics, evals] = await Promise.all([readList(redis, metricsKey(run, stage)), readList(redis, evalsKey(run, stage))]);
    return [stage, { metrics, evals }] as const;
  }));
  return metricsFromLines(Object.fromEntries(lines) as unknown as Record<StageName, StageLines>);
}

/** Validate lines from any source (docs/report.md: Redis, or storage once Redis is gone). */
export function metricsFromLines(lines: Readonly<Record<StageName, StageLines>>): RunMetrics {
  const entries = STAGE_NAMES.map((stage) => {
    const { metrics: metricLines, evals: evalLines } = lines[stage];
    const steps = metricLines.map(parseStepMetric);
    const evals = evalLines.map(parseEvalRecord);
    const metrics: StageMetrics = {
      steps: latestPerStep(steps.filter((s): s is StepMetric => s !== null)),
      evals: evals.filter((e): e is EvalRecord => e !== null),
      malformed: { metrics: steps.filter((s) => s === null).length, evals: evals.filter((e) => e === null).length },
    };
    return [stage, metrics] as const;
  });
  return Object.fromEntries(entries) as Record<StageName, StageMetrics>;
}

async function readList(redis: Redis, key: string): Promise<string[]> {
  const out: string[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = await redis.lrange(key, start, start + PAGE - 1);
    out.push(...page);
    if (page.length < PAGE) return out;
  }
}

/**
 * A stage that restarts an epoch from its latest checkpoint replays the steps after it, so a step
 * can appear twice; the later record describes the parameters the run actually kept.
 */
function latestPerStep(steps: readonly StepMetric[]): StepMetric[] {
  const byStep = new Map<number, StepMetric>();
  for (const s of steps) byStep.set(s.step, s);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}
