import type { BadSampleReason } from '../bad-sample.js';
import { MLM_IGNORE, type CoarseBatch, type FineBatch } from './batch.js';
import type { DataStageConfig } from './data-stage-config.js';
import { positiveMap } from './grounding-targets.js';
import { writeNormalizedChw, type TransformedImage } from './image-transform.js';
import { maskTokens } from './mlm-mask.js';
import type { PreparedSample } from './prepare-sample.js';
import { createRng, hashInts } from './rng.js';
import type { TextTokenizer } from './text-tokenizer.js';

/** One image into its batch slot at `offset`: CHW planes of `planeHeight` rows of `rowStride`. */
function writeImage(img: TransformedImage, out: Float32Array, offset: number, rowStride: number, planeHeight: number): void {
  writeNormalizedChw(img.rgb, img.width, img.height, img.channels, img.normalization, out, offset, rowStride, planeHeight);
}

/** Fills [B, L] id and mask rows, padding with `<pad>` / 0. */
function textRows(samples: readonly PreparedSample[], L: number, padId: number): { inputIds: Int32Array; attentionMask: Int32Array } {
  const inputIds = new Int32Array(samples.length * L).fill(padId);
  const attentionMask = new Int32Array(samples.length * L);
  samples.forEach((s, b) => {
    const n = Math.min(L, s.ids.length);
    for (let j = 0; j < n; j++) {
      inputIds[b * L + j] = s.ids[j] as number;
      attentionMask[b * L + j] = 1;
    }
  });
  return { inputIds, attentionMask };
}

/**
 * Coarse batch. MLM masking is seeded per sample by (seed, step, position), so the same sample in
 * the same step is masked the same way on any machine and with any number of slots.
 */
export function collateCoarse(samples: readonly PreparedSample[], config: DataStageConfig, tokenizer: TextTokenizer, seed: number, step: number, skipped: Partial<Record<BadSampleReason, number>>): CoarseBatch {
  const B = samples.length;
  const S = config.imageSize;
  const L = config.maxTextLen;
  const plane = 3 * S * S;
  const pixelValues = new Float32Array(B * plane); // [B, 3, S, S]
  samples.forEach((s, b) => writeImage(s.image, pixelValues, b * plane, S, S));
  const { inputIds, attentionMask } = textRows(samples, L, tokenizer.padId);
  const mlmInputIds = Int32Array.from(inputIds);
  const mlmLabels = new Int32Array(B * L).fill(MLM_IGNORE);
  if (config.mlm) {
    samples.forEach((s, b) => {
      const rng = createRng(hashInts(seed, step, s.position, 0x6d6c6d));
      const m = maskTokens(s.ids, s.special, tokenizer.maskId, tokenizer.regularIds, rng, config.mlm ?? undefined);
      mlmInputIds.set(m.ids.subarray(0, L), b * L);
      mlmLabels.set(m.labels.subarray(0, L), b * L);
    });
  }
  return {
    kind: 'coarse', numSamples: B, textLength: L, imageSize: S, pixelValues, inputIds, attentionMask, mlmInputIds, mlmLabels,
    keys: samples.map((s) => s.key), positions: Int32Array.from(samples, (s) => s.position), skipped,
  };
}

/** Fine batch: images padded to a common H, W; boxes and positive maps padded to M. */
export function collateFine(samples: readonly PreparedSample[], config: DataStageConfig, tokenizer: TextTokenizer, skipped: Partial<Record<BadSampleReason, number>>): FineBatch {
  const B = samples.length;
  const L = config.maxTextLen;
  const div = config.fine.sizeDivisibility;
  const roundUp = (v: number): number => Math.ceil(v / div) * div;
  const H = config.fine.padTo?.height ?? roundUp(Math.max(0, ...samples.map((s) => s.image.height)));
  const W = config.fine.padTo?.width ?? roundUp(Math.max(0, ...samples.map((s) => s.image.width)));
  const pixelValues = new Float32Array(B * 3 * H * W); // [B, 3, H, W]
  const imageSizes = new Int32Array(B * 2);
  // Positive maps first: boxes whose phrase was truncated away are dropped (as GLIP does).
  const kept = samples.map((s) => {
    const map = positiveMap(s.boxSpans, s.tokenOffsets, L);
    const rows: number[] = [];
    for (let m = 0; m < s.boxes.length; m++) if (map.subarray(m * L, (m + 1) * L).some((v) => v > 0)) rows.push(m);
    return { map, rows };
  });
  const M = Math.max(0, ...kept.map((k) => k.rows.length));
  const boxes = new Float32Array(B * M * 4);
  const boxMask = new Int32Array(B * M);
  const positive = new Float32Array(B * M * L);
  samples.forEach((s, b) => {
    const { width: w, height: h } = s.image;
    if (h > H || w > W) throw new RangeError(`image ${s.key} (${w}x${h}) does not fit fine.padTo ${W}x${H}`);
    imageSizes[b * 2] = h;
    imageSizes[b * 2 + 1] = w;
    writeImage(s.image, pixelValues, b * 3 * H * W, W, H);
    const k = kept[b] as { map: Float32Array; rows: number[] };
    k.rows.forEach((m, i) => {
      boxes.set(s.boxes[m] as readonly number[], (b * M + i) * 4);
      boxMask[b * M + i] = 1;
      positive.set(k.map.subarray(m * L, (m + 1) * L), (b * M + i) * L);
    });
  });
  const { inputIds, attentionMask } = textRows(samples, L, tokenizer.padId);
  return {
    kind: 'fine', numSamples: B, textLength: L, imageHeight: H, imageWidth: W, pixelValues, imageSizes, maxBoxes: M, boxes, boxMask,
    positiveMap: positive, inputIds, attentionMask, keys: samples.map((s) => s.key), positions: Int32Array.from(samples, (s) => s.position), skipped,
  };
}
