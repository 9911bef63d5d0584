import * as tf from '@tensorflow/tfjs';
import { FiberError } from '../errors/index.js';
import { encode } from '../model/fiber-encoder.js';
import { fineHead } from '../model/fine-head.js';
import type { FiberModelConfig } from '../model/model-config.js';
import { DropoutContext } from '../model/ops/nn.js';
import type { ParamTensors } from '../model/params.js';
import type { GroundingBatch } from './eval-batches.js';
import type { EvalProgressFn } from './eval-result.js';
import { clipBoxes, groundPhrase, HIT_IOU, phraseAnchorScores } from './grounding-accuracy.js';

/*
 * Phrase grounding with a fine model (reference §3, Flickr30k Entities / RefCOCO-style
 * acc@0.5): for every phrase, the anchor the model scores highest for the phrase's tokens
 * predicts its box. B batch, A anchor points, L query tokens, S image side.
 */

export interface GroundingOptions {
  readonly onProgress?: EvalProgressFn;
}

export interface GroundingOutcome {
  /** Phrases evaluated. */
  readonly n: number;
  /** Samples (caption + image) they came from. */
  readonly samples: number;
  /** acc@0.5 and oracle@0.5. */
  readonly scores: Record<string, number>;
  /** acc@0.5 of a uniformly random anchor. */
  readonly chance: Record<string, number>;
}

const ACC = `acc@${HIT_IOU}`;
const ORACLE = `oracle@${HIT_IOU}`;

/** Grounds every phrase of every batch: a pure function of (config, weights, batches); leaves no tensor behind. */
export async function evaluateGrounding(config: FiberModelConfig, params: ParamTensors, batches: AsyncIterable<GroundingBatch> | Iterable<GroundingBatch>, opts: GroundingOptions = {}): Promise<GroundingOutcome> {
  let n = 0, samples = 0, hits = 0, chance = 0, oracle = 0;
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
        n++;
      }
    });
    samples += b.numSamples;
    opts.onProgress?.({ phase: 'ground', done: samples });
  }
  if (n === 0) return { n, samples, scores: {}, chance: {} };
  return { n, samples, scores: { [ACC]: hits / n, [ORACLE]: oracle / n }, chance: { [ACC]: chance / n } };
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
