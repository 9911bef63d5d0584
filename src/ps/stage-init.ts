import type { ObjectStore } from '../storage/object-store.js';
import type { RunConfig, StageName } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { initParams } from '../model/init-params.js';
import { loadNamedWeights } from './checkpoint-io.js';
import { clampToSpecs } from './param-clamp.js';
import { numel, type ParamSpec } from '../model/param-spec.js';
import { planStage } from '../stage/plan-stage.js';

export interface InitReport {
  /** Tensors taken from the init checkpoint. */
  readonly loaded: number;
  /** Tensors seeded fresh (e.g. the fine head when starting from a coarse checkpoint). */
  readonly fresh: readonly string[];
  /** Checkpoint tensors the stage has no use for (e.g. the coarse heads in the fine stage). */
  readonly dropped: readonly string[];
}

/**
 * A stage's starting weights as one flat vector in spec order: seeded init, overwritten by name
 * from `init` when given. Shared tensors (backbones and fusion, reference §3.5) carry over; the
 * rest is reported, so a user sees what a coarse -> fine start kept and what it dropped.
 */
export async function stageStartWeights(config: RunConfig, stage: StageName, init: string | null, store: ObjectStore, log: Logger): Promise<{ specs: readonly ParamSpec[]; flat: Float32Array; report: InitReport }> {
  const { specs, layout } = planStage(config, stage);
  const seeded = initParams(config.model, stage, config.seed);
  const fresh: string[] = [];
  let dropped: string[] = [];
  let loaded = 0;
  if (init) {
    const weights = await loadNamedWeights(store, init);
    const wanted = new Set(specs.map((s) => s.name));
    dropped = [...weights.keys()].filter((k) => !wanted.has(k));
    for (const spec of specs) {
      const w = weights.get(spec.name);
      if (w && w.length === numel(spec.shape)) {
        seeded.set(spec.name, w);
        loaded++;
      } else {
        if (w) log.warn({ name: spec.name, expected: spec.shape, got: w.length }, 'init checkpoint tensor has another size; seeding it instead');
        fresh.push(spec.name);
      }
    }
  }
  const flat = new Float32Array(layout.totalElements);
  specs.forEach((spec, i) => flat.set(seeded.get(spec.name)!, layout.tensorStarts[i]));
  clampToSpecs(specs, flat);
  return { specs, flat, report: { loaded, fresh, dropped } };
}
