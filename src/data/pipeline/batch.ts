import type { BadSampleReason } from '../bad-sample.js';

/**
 * The batches the data path hands to the worker: plain typed arrays with explicit shapes, no
 * tensors (src/data imports no TensorFlow.js; the model side wraps these with tf.tensor(data, shape)).
 * Arrays are dense and row-major. Letters:
 *
 *   B  samples in the batch (numSamples; 0 for an empty batch)
 *   S  coarse image side in pixels (the model's imageSize, 384 for fiber-base)
 *   H, W  fine image height and width after padding (the largest in the batch, rounded up to
 *      sizeDivisibility, or the configured fixed padding)
 *   L  text length: every row is padded to the configured maximum (coarse maxTextLen 40,
 *      fine maxQueryLen 256), as the reference pads to max_length
 *   M  boxes per image after padding (the most in the batch; boxMask marks real ones)
 *
 * Field names match src/model/batch.ts (CoarseBatch / FineBatch) where the two overlap.
 */

/** Labels value at positions MLM did not select (the loss ignores them). */
export const MLM_IGNORE = -100;

interface BatchCommon {
  /** B. 0 means every sample of the task was bad: see {@link isEmptyBatch}. */
  readonly numSamples: number;
  /** L. */
  readonly textLength: number;
  /** [B, L] int32 token ids: `<s> ... </s> <pad> ...`. */
  readonly inputIds: Int32Array;
  /** [B, L] int32: 1 for tokens, 0 for padding. */
  readonly attentionMask: Int32Array;
  /** Sample keys, in batch order (for logs and debugging). */
  readonly keys: readonly string[];
  /** Position of each sample in the step's global batch (the sample plan's `position`). */
  readonly positions: Int32Array;
  /** Planned samples of this task that were skipped, by reason. planned = numSamples + sum. */
  readonly skipped: Partial<Record<BadSampleReason, number>>;
}

/** Image-text batch (coarse stage: ITC, ITM, MLM). */
export interface CoarseBatch extends BatchCommon {
  readonly kind: 'coarse';
  /** S. */
  readonly imageSize: number;
  /** [B, 3, S, S] float32, RGB, normalised with the stage's mean and std. */
  readonly pixelValues: Float32Array;
  /** [B, L] int32: inputIds after MLM corruption (80% <mask>, 10% random, 10% kept). */
  readonly mlmInputIds: Int32Array;
  /** [B, L] int32: the original id where MLM selected a token, MLM_IGNORE (-100) elsewhere. */
  readonly mlmLabels: Int32Array;
}

/** Image-text-box batch (fine stage: grounding and detection as phrase grounding). */
export interface FineBatch extends BatchCommon {
  readonly kind: 'fine';
  /** H and W of pixelValues. */
  readonly imageHeight: number;
  readonly imageWidth: number;
  /** [B, 3, H, W] float32, normalised; each image at the top left, zeros (after normalisation) beyond. */
  readonly pixelValues: Float32Array;
  /** [B, 2] int32: (height, width) of the real image inside the padding. */
  readonly imageSizes: Int32Array;
  /** M. */
  readonly maxBoxes: number;
  /** [B, M, 4] float32 boxes (x0, y0, x1, y1) in pixels of the transformed image. */
  readonly boxes: Float32Array;
  /** [B, M] int32: 1 for a real box, 0 for padding. */
  readonly boxMask: Int32Array;
  /** [B, M, L] float32: GLIP positive map; row sums to 1 over the tokens naming the box. */
  readonly positiveMap: Float32Array;
}

export type DataBatch = CoarseBatch | FineBatch;

/** True when every planned sample of the task was bad: the trainer pushes a zero gradient with count 0. */
export function isEmptyBatch(batch: DataBatch): boolean {
  return batch.numSamples === 0;
}
