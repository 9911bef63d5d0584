import * as tf from '@tensorflow/tfjs';
import { encode } from '../model/fiber-encoder.js';
import { fineHead } from '../model/fine-head.js';
import type { FiberModelConfig } from '../model/model-config.js';
import { DropoutContext } from '../model/ops/nn.js';
import type { ParamTensors } from '../model/params.js';
import type { GroundingBatch } from './eval-batches.js';
import type { EvalProgressFn } from './eval-result.js';
import { clipBoxes, groundPhrase, HIT_IOU, phraseAnchorScores } from './grounding-accuracy.js';
import { GROUNDING_KS } from './grounding-recall.js';

/*
 * Phrase grounding with a fine model (reference §3, Flickr30k Entities / RefCOCO-style
 * acc@0.5 and Flickr30k R@1/5/10): for every phrase, the anchors ranked by the model's score for
 * the phrase's tokens predict its box. B batch, A anchor points, L query tokens, S image side.
 * The model is touched only in fineOutputs (the fine head's per-anchor token probabilities,
 * centerness and box distances); the ranking and hit maths are pure (grounding-accuracy.ts,
 * grounding-recall.ts).
 */

export interface GroundingOptions {
  readonly onProgress?: EvalProgressFn;
}

export interface GroundingOutcome {
  /** Phrases evaluated. */
  readonly n: number;
  /** Samples (caption + image) they came from. */
  readonly samples: number;
  /** Distinct images among the samples (by imageId; a sample without one counts as its own image). */
  readonly images: number;
  /** acc@0.5, R@1, R@5, R@10 and oracle@0.5. */
  readonly scores: Record<string, number>;
  /** acc@0.5 and R@K of a uniformly random anchor ranking. */
  readonly chance: Record<string, number>;
}

const ACC = `acc@${HIT_IOU}`;
const ORACLE = `oracle@${HIT_IOU}`;
const RECALL_KEYS = GROUNDING_KS.map((k) => `R@${k}`);

/** Grounds every phrase of every batch: a pure function of (config, weights, batches); leaves no tensor behind. */
export async function evaluateGrounding(config: FiberModelConfig, params: ParamTensors, batches: AsyncIterable<GroundingBatch> | Iterable<GroundingBatch>, opts: GroundingOptions = {}): Promise<GroundingOutcome> {
  let n = 0, samples = 0, hits = 0, chance = 0, oracle = 0;
  const recall = GROUNDING_KS.map(() => 0), chanceRecall = GROUNDING_KS.map(() => 0);
  const images = new Set<string>();
  for await (const b of batches) {
    const out = await fineOutputs(config, params, b);
    const a = out.centerness.length / b.numSamples, l = b.textLength;
    b.samples.forEach((s, i) => {
      const probs = out.tokenProbs.subarray(i * a * l, (i + 1) * a * l); // [A, L]
      const ctr = out.centerness.subarray(i * a, (i + 1) * a); // [A]
      const boxes = clipBoxes(out.boxes.subarray(i * a * 4, (i + 1) * a * 4), s.width, s.height); // [A, 4]
      for (const phrase of s.phrases) {
        const r = groundPhrase(phraseAnchorScores(probs, ctr, l, phrase.tokens), boxes, phrase.boxes);
        hits += r.hit;
        chance += r.chance;
        oracle += r.oracle;
        r.recall.forEach((v, j) => (recall[j]! += v));
        r.chanceRecall.forEach((v, j) => (chanceRecall[j]! += v));
        n++;
      }
      images.add(s.imageId ?? `sample:${samples + i}`);
    });
    samples += b.numSamples;
    opts.onProgress?.({ phase: 'ground', done: samples });
  }
  if (n === 0) return { n, samples, images: images.size, scores: {}, chance: {} };
  const byK = (sums: number[]) => Object.fromEntries(RECALL_KEYS.map((key, j) => [key, sums[j]! / n]));
  return {
    n, samples, images: images.size,
    scores: { [ACC]: hits / n, ...byK(recall), [ORACLE]: oracle / n },
    chance: { [ACC]: chance / n, ...byK(chanceRecall) },
  };
}

/** The fine head on the fused backbone, as probabilities: tokenProbs [B, A, L], centerness [B, A], boxes [B, A, 4]. */
async function fineOutputs(config: FiberModelConfig, params: ParamTensors, b: GroundingBatch): Promise<{ tokenProbs: Float32Array; centerness: Float32Array; boxes: Float32Array }> {
  const nb = b.numSamples, l = b.textLength;
  const [probs, ctr, boxes] = tf.tidy(() => {
    const mask = tf.tensor2d(b.attentionMask, [nb, l], 'int32');
    const enc = encode(config, params, { pixelValues: tf.tensor4d(b.pixelValues, [nb, 3, b.imageHeight, b.imageWidth]), inputIds: tf.tensor2d(b.inputIds, [nb, l], 'int32'), attentionMask: mask, imageWindows: 'pad' }, 'fusion', new DropoutContext(false, 0));
    const head = fineHead(config, params, enc.stageMaps!, enc.textTokens!, mask);
    return [tf.sigmoid(head.tokenLogits), tf.sigmoid(head.centerness), head.boxes];
  });
  try {
    const [tokenProbs, centerness, box] = await Promise.all([probs.data(), ctr.data(), boxes.data()]);
    return { tokenProbs: tokenProbs as Float32Array, centerness: centerness as Float32Array, boxes: box as Float32Array };
  } finally {
    tf.dispose([probs, ctr, boxes]);
  }
}
