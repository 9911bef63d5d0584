import type { ObjectStore } from '../storage/object-store.js';
import { stepDirName } from '../ps/checkpoint-layout.js';
import { joinUrl } from '../storage/url.js';
import type { DemoData } from './demo-data.js';
import type { DemoEval } from './demo-summary.js';

/**
 * Retrieval with the coarse stage's final weights and grounding with the fine stage's, each next
 * to the same evaluation of the stage's starting weights (its step-0 checkpoint: seeded init for
 * coarse; coarse weights with a fresh head for fine), on the held-out shards.
 * `finals` are the two stages' final step directories, coarse first.
 */
export async function evaluateDemo(store: ObjectStore, data: DemoData, finals: readonly string[], signal: AbortSignal): Promise<DemoEval[]> {
  const { evaluateCheckpoint } = await import('../eval/evaluate-checkpoint.js');
  const plan = [
    { task: 'retrieval' as const, final: finals[0]!, shards: data.evalCoarseShards },
    { task: 'grounding' as const, final: finals[1]!, shards: data.evalFineShards },
  ];
  const out: DemoEval[] = [];
  for (const p of plan) {
    if (signal.aborted) break;
    const start = joinUrl(p.final.replace(/\/step-\d+\/?$/, ''), stepDirName(0));
    const trained = await evaluateCheckpoint(store, { checkpoint: p.final, data: p.shards, task: p.task });
    const untrained = await evaluateCheckpoint(store, { checkpoint: start, data: p.shards, task: p.task });
    out.push({ task: p.task, n: trained.n, scores: trained.scores, untrained: untrained.scores, chance: trained.chance });
  }
  return out;
}
