/**
 * The micro-batches the model trains on: what the data layer builds and the worker hands to
 * `lossAndGrads`. Plain typed arrays (no tensors) so they cross threads and queues cheaply.
 * All arrays are dense, row-major, in the shape given in brackets.
 *
 *   B  samples in this micro-batch
 *   S  coarse image side in pixels: must equal the model config's `imageSize`
 *   H, W  fine image height and width in pixels: any multiples of 32 (each image top-left, zero padded)
 *   L  text length (padded; every row of a batch has the same L; L <= maxPositions - 2)
 *   M  maximum boxes per image in a fine batch (pad with boxMask = 0)
 */

/** Ignored-label value of `mlmLabels` (PyTorch's CrossEntropy ignore_index). */
export const MLM_IGNORE = -100;

/** RoBERTa special ids (roberta-base tokenizer). */
export const ROBERTA_SPECIAL_IDS = { bos: 0, pad: 1, eos: 2, unk: 3, mask: 50264 } as const;

export interface CoarseBatch {
  /** [B, 3, S, S] float32, RGB, ImageNet mean/std normalised (reference §2.2: Resize to S, no crop). */
  readonly pixelValues: Float32Array;
  /** [B, L] int32: the clean RoBERTa ids `<s> ... </s> <pad>...` used by ITC and ITM. */
  readonly inputIds: Int32Array;
  /** [B, L] int32: 1 for tokens, 0 for padding. */
  readonly attentionMask: Int32Array;
  /** [B, L] int32: `inputIds` after MLM corruption (80% <mask>, 10% random, 10% kept), by the data path (src/data/pipeline/mlm-mask.ts). */
  readonly mlmInputIds: Int32Array;
  /** [B, L] int32: the original id at corrupted positions, MLM_IGNORE (-100) elsewhere. */
  readonly mlmLabels: Int32Array;
  /** B. */
  readonly numSamples: number;
  /** S (pixels) and L (tokens): explicit so shapes never have to be guessed from lengths. */
  readonly imageSize: number;
  readonly textLength: number;
}

/**
 * Fine (image-text-box) micro-batch: grounding/detection as phrase grounding (reference §3.3).
 * There is no MLM in the fine stage, so no mlm fields.
 */
export interface FineBatch {
  readonly pixelValues: Float32Array; // [B, 3, H, W]
  readonly inputIds: Int32Array; // [B, L] the caption or ". "-joined class names
  readonly attentionMask: Int32Array; // [B, L]
  /** [B, M, 4] float32 boxes as (x1, y1, x2, y2) in pixels of the H x W input. */
  readonly boxes: Float32Array;
  /** [B, M] int32: 1 for a real box, 0 for padding. */
  readonly boxMask: Int32Array;
  /**
   * [B, M, L] float32: token-level positive map: for box m, > 0 at the tokens of its phrase
   * (GLIP create_positive_map; any positive value counts, normalisation is irrelevant here).
   */
  readonly positiveMap: Float32Array;
  readonly numSamples: number; // B
  readonly imageHeight: number; // H
  readonly imageWidth: number; // W
  readonly textLength: number; // L
  readonly maxBoxes: number; // M
}

export type ModelBatch = CoarseBatch | FineBatch;

export function isFineBatch(batch: ModelBatch): batch is FineBatch {
  return (batch as FineBatch).boxes !== undefined;
}

/**
 * Checks every array length against the declared B, S (or H, W), L (and M), and that L fits RoBERTa's
 * learned positions. Returns one message per problem, naming the field (empty when well formed).
 */
export function batchShapeProblems(batch: ModelBatch, maxPositions: number): string[] {
  const b = batch.numSamples, l = batch.textLength;
  const problems: string[] = [];
  const plane = isFineBatch(batch) ? batch.imageHeight * batch.imageWidth : batch.imageSize ** 2;
  const want: Array<[string, ArrayLike<number>, number]> = [
    ['pixelValues', batch.pixelValues, b * 3 * plane],
    ['inputIds', batch.inputIds, b * l],
    ['attentionMask', batch.attentionMask, b * l],
  ];
  if (isFineBatch(batch)) {
    const m = batch.maxBoxes;
    for (const [name, v] of [['imageHeight', batch.imageHeight], ['imageWidth', batch.imageWidth]] as const) {
      if (!(v > 0 && v % 32 === 0)) problems.push(`${name} ${v} must be a positive multiple of 32 (four 2x reductions after the 4x patch embedding)`);
    }
    want.push(['boxes', batch.boxes, b * m * 4], ['boxMask', batch.boxMask, b * m], ['positiveMap', batch.positiveMap, b * m * l]);
  } else {
    want.push(['mlmInputIds', batch.mlmInputIds, b * l], ['mlmLabels', batch.mlmLabels, b * l]);
  }
  for (const [name, arr, n] of want) if (arr.length !== n) problems.push(`${name} has ${arr.length} values, expected ${n}`);
  if (b < 1) problems.push(`numSamples must be >= 1, got ${b}`);
  // RoBERTa positions start after the padding offset: ids 2..L+1 must exist.
  if (l + 2 > maxPositions) problems.push(`textLength ${l} exceeds ${maxPositions - 2} (learned positions incl. RoBERTa's padding offset of 2)`);
  return problems;
}
