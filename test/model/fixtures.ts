import { maskTokens } from '../../src/data/pipeline/mlm-mask.js';
import { ROBERTA_SPECIAL_IDS, type CoarseBatch, type FineBatch } from '../../src/model/batch.js';
import { MODEL_PRESETS, type FiberModelConfig } from '../../src/model/model-config.js';
import { SeededRng } from '../../src/model/seeded-rng.js';

/** fiber-tiny with a small vocabulary so test steps stay fast; everything else is the preset. */
export const TINY: FiberModelConfig = { ...MODEL_PRESETS['fiber-tiny'], vocabSize: 1000 };

/** A deterministic coarse batch: random pixels, ids `<s> w... </s> <pad>...` with varied lengths. */
export function makeCoarseBatch(config: FiberModelConfig, b: number, l: number, seed: number, maskProb = 0.15): CoarseBatch {
  const rng = new SeededRng(seed);
  const s = config.imageSize;
  // Noise around a per-image, per-channel mean, so images are distinguishable after pooling
  // (pure noise images pool to nearly the same feature, which makes ITC/ITM degenerate).
  const pixelValues = new Float32Array(b * 3 * s * s).map((_, i) => 0.5 * rng.normal() + Math.sin(1.7 * Math.floor(i / (s * s)) + 0.3));
  const inputIds = new Int32Array(b * l).fill(1);
  const attentionMask = new Int32Array(b * l);
  for (let i = 0; i < b; i++) {
    const len = Math.max(4, l - (i % 3));
    inputIds[i * l] = 0;
    for (let j = 1; j < len - 1; j++) inputIds[i * l + j] = 4 + rng.int(config.vocabSize - 5);
    inputIds[i * l + len - 1] = 2;
    attentionMask.fill(1, i * l, i * l + len);
  }
  const { mlmInputIds, mlmLabels } = maskBatch(inputIds, attentionMask, seed + 1, config.vocabSize, maskProb);
  return { pixelValues, inputIds, attentionMask, mlmInputIds, mlmLabels, numSamples: b, imageSize: s, textLength: l };
}

/**
 * MLM over a whole [B, L] batch with the data path's masking (one generator for the batch, random
 * replacements drawn from the whole vocabulary; specials and padding never selected), mask id
 * vocabSize - 1 so the test vocabulary can hold it.
 */
function maskBatch(inputIds: Int32Array, attentionMask: Int32Array, seed: number, vocabSize: number, probability: number): { mlmInputIds: Int32Array; mlmLabels: Int32Array } {
  const specials = new Set<number>(Object.values(ROBERTA_SPECIAL_IDS));
  const special = Uint8Array.from(inputIds, (id, i) => (attentionMask[i] === 0 || specials.has(id) ? 1 : 0));
  const vocabulary = Int32Array.from({ length: vocabSize }, (_, i) => i);
  const m = maskTokens(inputIds, special, vocabSize - 1, vocabulary, new SeededRng(seed), { probability, maskShare: 0.8, randomShare: 0.1 });
  return { mlmInputIds: m.ids, mlmLabels: m.labels };
}

/**
 * A fine batch with one or two boxes per image, each grounded to tokens 1..2 or 3..4. With
 * `spread`, image 0 instead holds five square boxes from 6 px to the full image, one per FPN level.
 * Images are imageSize high and `width` wide (a multiple of 32).
 */
export function makeFineBatch(config: FiberModelConfig, b: number, l: number, seed: number, spread = false, width = config.imageSize): FineBatch {
  const base = makeCoarseBatch(config, b, l, seed, 0);
  const pixelRng = new SeededRng(seed + 11);
  const pixelValues = width === config.imageSize ? base.pixelValues : Float32Array.from({ length: b * 3 * config.imageSize * width }, () => pixelRng.normal());
  const m = spread ? 5 : 2;
  const s = config.imageSize;
  const boxes = new Float32Array(b * m * 4);
  const boxMask = new Int32Array(b * m);
  const positiveMap = new Float32Array(b * m * l);
  const rng = new SeededRng(seed + 7);
  for (let i = 0; i < b; i++) {
    const nb = 1 + (i % 2);
    for (let k = 0; k < nb; k++) {
      const w = s * (0.3 + 0.4 * rng.next()), h = s * (0.3 + 0.4 * rng.next());
      const x1 = rng.next() * (s - w), y1 = rng.next() * (s - h);
      boxes.set([x1, y1, x1 + w, y1 + h], (i * m + k) * 4);
      boxMask[i * m + k] = 1;
      positiveMap[(i * m + k) * l + 1 + 2 * k] = 0.5;
      positiveMap[(i * m + k) * l + 2 + 2 * k] = 0.5;
    }
  }
  if (spread) {
    // At 64 px the single P7 point sits on the image's bottom-right corner (64, 64), inside no
    // clipped box: the largest box overhangs that corner, as an unclipped annotation may.
    [6, 14, 28, 48, s].forEach((size, k) => {
      const x1 = k % 2 ? s - size : 0;
      if (k === 4) boxes.set([8, 8, s + 8, s + 8], k * 4);
      else boxes.set([x1, 0, x1 + size, size], k * 4);
      boxMask[k] = 1;
      positiveMap[k * l + 1 + (k % 3)] = 1;
    });
  }
  return {
    pixelValues, inputIds: base.inputIds, attentionMask: base.attentionMask,
    boxes, boxMask, positiveMap, numSamples: b, imageHeight: s, imageWidth: width, textLength: l, maxBoxes: m,
  };
}
