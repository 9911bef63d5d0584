import type { DetectionPromptConfig } from './grounding-targets.js';
import { DEFAULT_DETECTION_PROMPT } from './grounding-targets.js';
import { DEFAULT_MLM, type MlmConfig } from './mlm-mask.js';

/** Per-channel mean and std on the [0, 1] scale, RGB order. */
export interface ImageNormalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** ImageNet statistics, as the reference's "albef" transform and Swin use. */
export const IMAGENET_NORMALIZATION: ImageNormalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** One dataset of a stage. */
export interface DatasetConfig {
  /** For logs and counters. @defaultValue 'dataset<i>' */
  readonly name?: string;
  /** Shard URL patterns with brace expansion, e.g. `s3://bucket/cc3m/{000000..000331}.tar`. Each shard needs its index (`fiber data index`). */
  readonly shards: readonly string[] | string;
  /** Per-epoch sampling factor: 1 reads every sample once per epoch, 2 twice, 0.5 half. @defaultValue 1 */
  readonly weight?: number;
}

/** Fine-stage image geometry and augmentation (reference §3.3). */
export interface FineTransformConfig {
  /** Shorter-side sizes, one drawn per sample. @defaultValue [480, 560, 640, 720, 800] */
  readonly minSizes: readonly number[];
  /** Cap on the longer side. @defaultValue 1333 */
  readonly maxSize: number;
  /** Probability of a horizontal flip (also swaps "left"/"right" and mirrors boxes). @defaultValue 0.5 */
  readonly flipProbability: number;
  /** Padded H and W are rounded up to a multiple of this. @defaultValue 32 */
  readonly sizeDivisibility: number;
  /** Pad every batch to this fixed size instead of the batch maximum (e.g. a model with square inputs). */
  readonly padTo?: { readonly height: number; readonly width: number };
}

/** How samples are fetched. */
export interface ReadConfig {
  /** Ranged GETs in flight per task. @defaultValue 8 */
  readonly concurrency: number;
  /** Two samples of one shard closer than this are fetched in one GET (the gap is read and dropped). @defaultValue 262144 */
  readonly coalesceGapBytes: number;
  /** Upper bound on one coalesced GET. @defaultValue 67108864 */
  readonly maxRangeBytes: number;
  /** Images decoded at once (sharp works in libuv's thread pool, UV_THREADPOOL_SIZE). @defaultValue 4 */
  readonly decodeConcurrency: number;
}

/** Everything the data path needs for one stage. The run config (src/config) builds it. */
export interface DataStageConfig {
  readonly stage: 'coarse' | 'fine';
  readonly datasets: readonly DatasetConfig[];
  /** Coarse square image side in pixels (the model's imageSize). @defaultValue 384 */
  readonly imageSize: number;
  /** Token ids per text, `<s>` and `</s>` included; rows are padded to it. @defaultValue coarse 40, fine 256 */
  readonly maxTextLen: number;
  /** @defaultValue ImageNet mean/std */
  readonly normalization: ImageNormalization;
  /** MLM corruption for the coarse stage; null turns it off. @defaultValue 15%, 80/10/10 */
  readonly mlm: MlmConfig | null;
  readonly fine: FineTransformConfig;
  readonly detectionPrompt: DetectionPromptConfig;
  /** Tokenizer files (path or URL of tokenizer.json, or a folder with vocab.json + merges.txt). @defaultValue 'default' */
  readonly tokenizer: string;
  readonly read: ReadConfig;
}

export const DEFAULT_FINE_TRANSFORM: FineTransformConfig = { minSizes: [480, 560, 640, 720, 800], maxSize: 1333, flipProbability: 0.5, sizeDivisibility: 32 };
export const DEFAULT_READ: ReadConfig = { concurrency: 8, coalesceGapBytes: 256 * 1024, maxRangeBytes: 64 * 1024 * 1024, decodeConcurrency: 4 };

/** A complete stage config from the few fields that have no sensible default. */
export function dataStageConfig(stage: 'coarse' | 'fine', datasets: readonly DatasetConfig[], overrides: Partial<DataStageConfig> = {}): DataStageConfig {
  return {
    stage,
    datasets,
    imageSize: 384,
    maxTextLen: stage === 'coarse' ? 40 : 256,
    normalization: IMAGENET_NORMALIZATION,
    mlm: stage === 'coarse' ? DEFAULT_MLM : null,
    fine: DEFAULT_FINE_TRANSFORM,
    detectionPrompt: DEFAULT_DETECTION_PROMPT,
    tokenizer: 'default',
    read: DEFAULT_READ,
    ...overrides,
  };
}
