import type { Redis } from 'ioredis';
import type { StageName } from '../../src/config/index.js';
import { evalsKey, metricsKey } from '../../src/queue/keys.js';

/** Deterministic noise in [-0.5, 0.5): the same curves on every run of the tests. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return x - Math.floor(x) - 0.5;
}

export const COARSE_LOSSES = ['itc', 'itm', 'mlm'] as const;
export const FINE_LOSSES = ['focal', 'giou', 'centerness'] as const;

/**
 * Metrics lines exactly as the coordinator writes them (src/ps/coordinator.ts `report`): raw
 * per-objective means that decay with noise, their sum as `total`, a cosine-ish lr.
 */
export function stepLines(objectives: readonly string[], steps: number, t0 = Date.UTC(2026, 10, 1)): string[] {
  return Array.from({ length: steps }, (_, v) => {
    const losses: Record<string, number> = {};
    objectives.forEach((k, j) => (losses[k] = (1 + j) * (0.3 + 2 * Math.exp(-v / 15)) * (1 + 0.2 * noise(v * 7 + j))));
    losses.total = Object.values(losses).reduce((a, b) => a + b, 0);
    const seconds = 0.8 + 0.1 * noise(v);
    const lr = 1e-4 * Math.min(1, (v + 1) / 5) * 0.5 * (1 + Math.cos((Math.PI * v) / steps));
    return JSON.stringify({ step: v + 1, t: t0 + (v + 1) * 1000, seconds, samples: 32, losses, lr });
  });
}

/** Eval lines in the shape the evaluator writes (`fiber:evals:<run>:<stage>`). */
export function evalLines(every: number, steps: number): string[] {
  const out: string[] = [];
  for (let step = every; step <= steps; step += every) {
    const q = step / steps;
    out.push(JSON.stringify({ step, t: Date.UTC(2026, 10, 1) + step * 1000, task: 'retrieval', n: 100,
      scores: { i2t_r1: 0.1 + 0.3 * q, i2t_r5: 0.3 + 0.3 * q, i2t_r10: 0.4 + 0.3 * q, t2i_r1: 0.08 + 0.3 * q, t2i_r5: 0.25 + 0.3 * q, t2i_r10: 0.35 + 0.3 * q } }));
    out.push(JSON.stringify({ step, t: Date.UTC(2026, 10, 1) + step * 1000, task: 'grounding', n: 50, scores: { acc50: 0.2 + 0.4 * q } }));
  }
  return out;
}

export async function pushLines(redis: Redis, run: string, stage: StageName, metrics: readonly string[], evals: readonly string[] = []): Promise<void> {
  if (metrics.length > 0) await redis.rpush(metricsKey(run, stage), ...metrics);
  if (evals.length > 0) await redis.rpush(evalsKey(run, stage), ...evals);
}
