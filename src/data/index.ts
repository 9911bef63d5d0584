/**
 * The data path's public surface: what the worker, the coordinator and the run config use.
 * Importing this loads sharp (image decoding); the CLI imports single modules lazily instead.
 */
export { TaskDataLoader } from './task-data-loader.js';
export { isEmptyBatch, MLM_IGNORE, type CoarseBatch, type DataBatch, type FineBatch } from './batch.js';
export { dataStageConfig, DEFAULT_FINE_TRANSFORM, DEFAULT_READ, type DataStageConfig, type DatasetConfig, type FineTransformConfig, type ReadConfig } from './data-stage-config.js';
export { planTask, slotRange, epochCounts, type PlannedSample, type SamplePlanConfig } from './sample-plan.js';
export { BAD_SAMPLE_REASONS, BadSampleCounter, type BadSampleReason, type BadSampleReport } from './bad-sample.js';
export { expandShardUrls } from './shard-urls.js';
export { loadTokenizer, defaultTokenizer, TextTokenizer } from './text-tokenizer.js';
export { tokenizerIdentity, tokenizerSha256, loadTokenizerWithIdentity, checkTokenizerFitsModel, checkSameTokenizer, type TokenizerIdentity } from './tokenizer-identity.js';
export { IMAGENET_NORMALIZATION, type ImageNormalization } from './image-transform.js';
export { DEFAULT_MLM, type MlmConfig } from './mlm-mask.js';
export { DEFAULT_DETECTION_PROMPT, type DetectionPromptConfig } from './grounding-targets.js';
