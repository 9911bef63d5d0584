import type { RunConfig, StageName } from '../config/index.js';
import type { DataStageConfig } from '../data/pipeline/data-stage-config.js';
import type { SamplePlanConfig } from '../data/pipeline/sample-plan.js';
import { paramSpecs, type ParamSpec } from '../model/param-spec.js';
import { stageDataConfig } from './data-config.js';
import { planLayout, type ShardLayout } from './shard-layout.js';

/**
 * Everything a stage's processes derive from (config, stage): the coordinator, every shard, every
 * worker and its compute thread, stage init and eval call planStage and nothing else, so they
 * cannot disagree on a tensor's place, a shard's range or a slot's samples.
 */
export interface StagePlan {
  readonly stage: StageName;
  /** The model's parameters in flat order (src/model/param-spec.ts). */
  readonly specs: readonly ParamSpec[];
  /**
   * The flat layout (tensorStarts, totalElements: tensor i is flat[tensorStarts[i], + numel)) and
   * each shard's range (shardStarts). Shard boundaries depend on numShards; the tensor starts do not.
   */
  readonly layout: ShardLayout;
  /** What the workers read and how (shards, transforms, tokenizer, MLM). */
  readonly data: DataStageConfig;
  /** The same data as evaluation reads it: no augmentation, no MLM corruption. */
  readonly evalData: DataStageConfig;
  /** Which samples slot t of step v reads (src/data/pipeline/sample-plan.ts). */
  readonly samplePlan: SamplePlanConfig;
  /** Samples per micro-batch a task accumulates over. */
  readonly microBatch: number;
}

/**
 * Pure: the same config, stage and shard count give the same plan on every machine. `numShards`
 * is the parameter server's size (`fiber ps --shards`), the one input that is not in the config;
 * callers that only need the flat layout leave it at 1.
 */
export function planStage(config: RunConfig, stage: StageName, numShards = 1): StagePlan {
  const specs = paramSpecs(config.model, stage);
  const batch = config.batch[stage];
  const sampleChunk = config.data[stage].sampleChunk;
  return {
    stage,
    specs,
    layout: planLayout(specs, numShards),
    data: stageDataConfig(config, stage, 'train'),
    evalData: stageDataConfig(config, stage, 'eval'),
    samplePlan: { seed: config.seed, globalBatch: batch.globalBatch, tasksPerStep: batch.tasksPerStep, ...(sampleChunk === undefined ? {} : { sampleChunk }) },
    microBatch: batch.microBatch,
  };
}
