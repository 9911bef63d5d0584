import type { RunConfig, StageName } from '../../src/config/index.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { hashInts } from '../../src/data/pipeline/rng.js';
import { TaskDataLoader } from '../../src/data/pipeline/task-data-loader.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import { numel } from '../../src/model/param-spec.js';
import { localNormExchange } from '../../src/ps/norm-exchange.js';
import { shardSlices } from '../../src/stage/shard-layout.js';
import { planStage } from '../../src/stage/plan-stage.js';
import { ShardState } from '../../src/ps/shard-state.js';
import { toModelBatch } from '../../src/stage/model-batch.js';

export interface LocalTrainResult {
  readonly weights: Map<string, Float32Array>;
  /** Per step, each objective's sample-weighted mean. */
  readonly losses: Array<Record<string, number>>;
}

/**
 * One process doing what a 1-shard run does, without Redis or TCP: the workers' sample plan,
 * micro-batches and per-task gradient sums (as compute-thread.ts), then one ShardState (the
 * shard's own ordered fold, mean, global-norm clipping and AdamW with the stage's groups and
 * schedule), fed each step's gradient as a single task.
 * For tests that need trained weights quickly; the distributed path's equality with itself
 * across worker and shard counts is tested in test/ps.
 * `init`: weights to start from by name (the fine stage takes the coarse weights it shares).
 */
export async function trainLocally(config: RunConfig, stage: StageName, store: ObjectStore, init?: ReadonlyMap<string, Float32Array>): Promise<LocalTrainResult> {
  const plan = planStage(config, stage);
  const { specs, layout } = plan;
  const weights = initParams(config.model, stage, config.seed);
  for (const [name, w] of init ?? []) if (weights.get(name)?.length === w.length) weights.set(name, w.slice());
  const offsets = layout.tensorStarts;
  const total = layout.totalElements;
  const flat = new Float32Array(total);
  specs.forEach((s, i) => flat.set(weights.get(s.name)!, offsets[i]));
  const opt = config.optimizer[stage];
  const shard = new ShardState({
    run: 'local', stage, shard: 0, flatStart: 0, tasksPerStep: 1, staleness: 0, version: 0,
    params: flat, expAvg: new Float32Array(total), expAvgSq: new Float32Array(total),
    slices: shardSlices(layout, specs, 0), specs, optimizer: opt,
  }, localNormExchange(1)(0));
  const model = new FiberModel(config.model, stage, weights);
  const batch = config.batch[stage];
  const loader = await TaskDataLoader.open(plan.data, plan.samplePlan, { store });
  const losses: Array<Record<string, number>> = [];
  try {
    for (let step = 0; step < opt.totalSteps; step++) {
      const grad = new Float32Array(total);
      const sums: Record<string, number> = {};
      let n = 0;
      for (let task = 0; task < batch.tasksPerStep; task++) {
        let micro = 0;
        for await (const b of loader.microBatches(step, task, batch.microBatch)) {
          const index = micro++;
          if (b.numSamples === 0) continue;
          const out = await lossAndGrads(model, toModelBatch(b), hashInts(config.seed, step, task, index));
          specs.forEach((s, i) => {
            const g = out.grads.get(s.name);
            if (!g) return;
            for (let j = 0, o = offsets[i]!; j < g.length; j++) grad[o + j] = grad[o + j]! + g[j]! * b.numSamples;
          });
          for (const [k, v] of Object.entries(out.lossesByObjective)) sums[k] = (sums[k] ?? 0) + v * b.numSamples;
          n += b.numSamples;
        }
      }
      shard.push(step, 0, n, grad);
      await shard.waitForVersion(step + 1, 60_000);
      specs.forEach((s, i) => weights.set(s.name, flat.subarray(offsets[i], offsets[i]! + numel(s.shape))));
      model.setParams(weights);
      const mean = n > 0 ? 1 / n : 0;
      losses.push(Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v * mean])));
    }
  } finally {
    model.dispose();
    await loader.close();
  }
  return { weights: new Map([...weights].map(([k, w]) => [k, w.slice()])), losses };
}
