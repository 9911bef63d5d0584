import type { DataBatch } from '../data/pipeline/batch.js';
import type { ModelBatch } from '../model/batch.js';

/**
 * The data layer's batch as the model takes it, field for field. Fine batches keep their H x W
 * (each image top-left, zero padded to the batch's largest, rounded up to data.fine's size
 * divisibility of 32, as maskrcnn-benchmark's to_image_list): the fine stage's Swin windows any
 * shape (swin.ts 'pad').
 */
export function toModelBatch(b: DataBatch): ModelBatch {
  if (b.kind === 'coarse') {
    return {
      pixelValues: b.pixelValues, inputIds: b.inputIds, attentionMask: b.attentionMask, mlmInputIds: b.mlmInputIds,
      mlmLabels: b.mlmLabels, numSamples: b.numSamples, imageSize: b.imageSize, textLength: b.textLength,
    };
  }
  return {
    pixelValues: b.pixelValues, inputIds: b.inputIds, attentionMask: b.attentionMask, boxes: b.boxes, boxMask: b.boxMask,
    positiveMap: b.positiveMap, numSamples: b.numSamples, imageHeight: b.imageHeight, imageWidth: b.imageWidth,
    textLength: b.textLength, maxBoxes: b.maxBoxes,
  };
}
