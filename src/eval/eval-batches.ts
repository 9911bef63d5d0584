import { collateCoarse, collateFine } from '../data/pipeline/collate.js';
import type { DataStageConfig } from '../data/pipeline/data-stage-config.js';
import type { PreparedSample } from '../data/pipeline/prepare-sample.js';
import type { TextTokenizer } from '../data/pipeline/text-tokenizer.js';
import type { CoarseBatch } from '../model/batch.js';
import type { EvalSkipReason } from './eval-result.js';
import { groundingPhrases, type GroundingPhrase } from './grounding-phrases.js';

/*
 * Model inputs for eval, built with the training collators so padding, placement and text rows
 * are the ones the model was trained on. B samples, S the model's imageSize, H x W a fine batch's
 * padded image size, L the query length.
 */

/** Pairs i = (image i, its first caption): the dual encoder's inputs. */
export type RetrievalBatch = Pick<CoarseBatch, 'pixelValues' | 'inputIds' | 'attentionMask' | 'numSamples' | 'imageSize' | 'textLength'>;

/** Images with their captions and the phrases to ground in each. */
export interface GroundingBatch {
  readonly numSamples: number; // B
  readonly imageHeight: number; // H
  readonly imageWidth: number; // W
  readonly textLength: number; // L
  /** [B, 3, H, W]: each image at the top left, zero padded, as in fine training (collateFine). */
  readonly pixelValues: Float32Array;
  readonly inputIds: Int32Array; // [B, L]
  readonly attentionMask: Int32Array; // [B, L]
  /** Per sample: the real image's extent inside the padded input (boxes are clipped to it) and its phrases. */
  readonly samples: ReadonlyArray<{ readonly key: string; readonly width: number; readonly height: number; readonly phrases: readonly GroundingPhrase[]; readonly imageId?: string }>;
}

export function toRetrievalBatch(samples: readonly PreparedSample[], config: DataStageConfig, tokenizer: TextTokenizer): RetrievalBatch {
  // config.mlm is null for eval, so the MLM rows are plain copies and seed/step do not matter.
  const b = collateCoarse(samples, config, tokenizer, 0, 0, {});
  return { pixelValues: b.pixelValues, inputIds: b.inputIds, attentionMask: b.attentionMask, numSamples: b.numSamples, imageSize: b.imageSize, textLength: b.textLength };
}

/** A prepared sample with what identifies its image (eval-samples.ts: a digest of the image bytes). */
export type EvalSample = PreparedSample & { readonly imageId?: string };

/**
 * The grounding batch of the samples that keep at least one phrase (others are counted as
 * `no_phrases`, truncated phrases as `phrase_truncated`, eval phrases naming no box as
 * `phrase_no_box`); undefined when none does.
 */
export function toGroundingBatch(samples: readonly EvalSample[], config: DataStageConfig, tokenizer: TextTokenizer, skip: (reason: EvalSkipReason) => void): GroundingBatch | undefined {
  const kept: Array<{ s: EvalSample; phrases: GroundingPhrase[] }> = [];
  for (const s of samples) {
    const { phrases, truncated, noBox } = groundingPhrases(s.boxes, s.boxSpans, s.tokenOffsets, config.maxTextLen, s.phraseSpans);
    for (let i = 0; i < truncated; i++) skip('phrase_truncated');
    for (let i = 0; i < noBox; i++) skip('phrase_no_box');
    if (phrases.length === 0) skip('no_phrases');
    else kept.push({ s, phrases });
  }
  if (kept.length === 0) return undefined;
  const data = collateFine(kept.map((k) => k.s), config, tokenizer, {});
  return {
    numSamples: data.numSamples, imageHeight: data.imageHeight, imageWidth: data.imageWidth, textLength: data.textLength,
    pixelValues: data.pixelValues, inputIds: data.inputIds, attentionMask: data.attentionMask,
    samples: kept.map(({ s, phrases }) => ({ key: s.key, width: s.image.width, height: s.image.height, phrases, ...(s.imageId !== undefined ? { imageId: s.imageId } : {}) })),
  };
}
