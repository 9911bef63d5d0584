import type { DataBatch } from '../data/pipeline/batch.js';
import type { ModelBatch } from '../model/batch.js';

/**
 * The data layer's batch as the model takes it. Coarse batches match field for field. Fine
 * batches come padded to H x W; the model trains on squares of its imageSize, so each image is
 * placed top-left in an S x S canvas (S = the model's imageSize) after the data layer already
 * scaled it to fit (data.fine.maxSize <= S is checked by the config), boxes unchanged.
 */
export function toModelBatch(b: DataBatch, imageSize: number): ModelBatch {
  if (b.kind === 'coarse') {
    return {
      pixelValues: b.pixelValues, inputIds: b.inputIds, attentionMask: b.attentionMask, mlmInputIds: b.mlmInputIds,
      mlmLabels: b.mlmLabels, numSamples: b.numSamples, imageSize: b.imageSize, textLength: b.textLength,
    };
  }
  const S = imageSize;
  const B = b.numSamples;
  const H = b.imageHeight;
  const W = b.imageWidth;
  if (H > S || W > S) throw new RangeError(`fine image ${H}x${W} does not fit the model's ${S}x${S} input`);
  const pixels = new Float32Array(B * 3 * S * S);
  for (let i = 0; i < B * 3; i++) {
    for (let y = 0; y < H; y++) pixels.set(b.pixelValues.subarray((i * H + y) * W, (i * H + y + 1) * W), (i * S + y) * S);
  }
  return {
    pixelValues: pixels, inputIds: b.inputIds, attentionMask: b.attentionMask, boxes: b.boxes, boxMask: b.boxMask,
    positiveMap: b.positiveMap, numSamples: B, imageSize: S, textLength: b.textLength, maxBoxes: b.maxBoxes,
  };
}
