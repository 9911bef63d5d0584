/**
 * The data path's public surface: what the worker, the coordinator and the run config use.
 * Importing this loads sharp (image decoding); the CLI imports single modules lazily instead.
 */
export { TaskDataLoader } from './pipeline/task-data-loader.js';
export { isEmptyBatch, MLM_IGNORE, type CoarseBatch, type DataBatch, type FineBatch } from './pipeline/batch.js';
export { dataStageConfig, IMAGENET_NORMALIZATION, type ImageNormalization, DEFAULT_FINE_TRANSFORM, DEFAULT_READ, type DataStageConfig, type DatasetConfig, type FineTransformConfig, type ReadConfig } from './pipeline/data-stage-config.js';
export { planTask, slotRange, epochCounts, type PlannedSample, type SamplePlanConfig } from './pipeline/sample-plan.js';
export { BAD_SAMPLE_REASONS, BadSampleCounter, type BadSampleReason, type BadSampleReport } from './bad-sample.js';
export { expandShardUrls } from './webdataset/shard-urls.js';
export { loadTokenizer, defaultTokenizer, TextTokenizer } from './pipeline/text-tokenizer.js';
export { tokenizerIdentity, tokenizerSha256, loadTokenizerWithIdentity, checkTokenizerFitsModel, checkSameTokenizer, type TokenizerIdentity } from './pipeline/tokenizer-identity.js';
export { DEFAULT_MLM, type MlmConfig } from './pipeline/mlm-mask.js';
export { DEFAULT_DETECTION_PROMPT, type DetectionPromptConfig } from './pipeline/grounding-targets.js';
