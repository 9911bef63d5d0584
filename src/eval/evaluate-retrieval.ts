import * as tf from '@tensorflow/tfjs';
import { FiberError } from '../errors/index.js';
import { fusionFeatures, itmLogits } from '../model/coarse-heads.js';
import { encode } from '../model/fiber-encoder.js';
import { forwardOutputs } from '../model/forward-outputs.js';
import type { FiberModelConfig } from '../model/model-config.js';
import { DropoutContext } from '../model/ops/nn.js';
import type { ParamTensors } from '../model/params.js';
import type { RetrievalBatch } from './eval-batches.js';
import type { EvalProgressFn } from './eval-result.js';
import { rerankedScores, topCandidates } from './itm-rerank.js';
import { transposeScores } from './recall-at-k.js';
import { directedRetrievalScores, retrievalChance, retrievalScores } from './retrieval-scores.js';

/*
 * Zero-shot image-text retrieval with a coarse model (reference §1.4, §2.5 irtr): the dual
 * encoder embeds every image and caption once, cosine similarity ranks; optionally the fusion
 * encoder's ITM head re-ranks each query's shortlist. N pairs (image i with caption i), B a
 * batch, S image side, L text length, Hc crossHidden.
 */

export interface RetrievalOptions {
  /** Image-text pairs per fusion pass when re-ranking. */
  readonly batchSize: number;
  /** Shortlist size for ITM re-ranking (capped at N); absent: ITC only. */
  readonly rerank?: number;
  readonly onProgress?: EvalProgressFn;
}

export interface RetrievalOutcome {
  /** Pairs evaluated. */
  readonly n: number;
  readonly scores: Record<string, number>;
  readonly chance: Record<string, number>;
  /** Shortlist size used, or null. */
  readonly rerank: number | null;
}

/**
 * Scores every batch's pairs against each other: a pure function of (config, weights, batches).
 * Leaves no tensor behind. Batches are kept in memory only when re-ranking needs their pixels.
 */
export async function evaluateRetrieval(config: FiberModelConfig, params: ParamTensors, batches: AsyncIterable<RetrievalBatch> | Iterable<RetrievalBatch>, opts: RetrievalOptions): Promise<RetrievalOutcome> {
  const imageFeats: Float32Array[] = [];
  const textFeats: Float32Array[] = [];
  const kept: RetrievalBatch[] = [];
  let n = 0;
  for await (const b of batches) {
    if (b.imageSize !== config.imageSize) throw new FiberError('fiber.eval.input', 'usage', `images are ${b.imageSize} px, the model takes ${config.imageSize}`);
    imageFeats.push(await itcFeatures(config, params, b, 'image'));
    textFeats.push(await itcFeatures(config, params, b, 'text'));
    if (opts.rerank !== undefined) kept.push(b);
    n += b.numSamples;
    opts.onProgress?.({ phase: 'encode', done: n });
  }
  if (n === 0) return { n, scores: {}, chance: {}, rerank: null };
  const sim = await cosineSimilarity(concat(imageFeats), concat(textFeats), n, config.crossHidden); // [N, N]
  const scores = retrievalScores(sim, n);
  const chance = retrievalChance(n);
  if (opts.rerank === undefined) return { n, scores, chance, rerank: null };

  const k = Math.min(opts.rerank, n);
  const simT = transposeScores(sim, n, n); // [N texts, N images]
  const i2tCands = topCandidates(sim, n, n, k); // [N, K] texts per image
  const t2iCands = topCandidates(simT, n, n, k); // [N, K] images per text
  // Both directions often shortlist the same pair: score each (image, text) once.
  const pairIndex = new Map<number, number>();
  const pairs: Array<[number, number]> = [];
  const pairOf = (img: number, txt: number): number => {
    const id = img * n + txt;
    let p = pairIndex.get(id);
    if (p === undefined) {
      pairIndex.set(id, (p = pairs.length));
      pairs.push([img, txt]);
    }
    return p;
  };
  const i2tPairs = Int32Array.from(i2tCands, (txt, j) => pairOf(Math.floor(j / k), txt));
  const t2iPairs = Int32Array.from(t2iCands, (img, j) => pairOf(img, Math.floor(j / k)));
  const itm = await itmScores(config, params, kept, pairs, opts);
  const i2t = rerankedScores(sim, n, n, i2tCands, Float64Array.from(i2tPairs, (p) => itm[p]!));
  const t2i = rerankedScores(simT, n, n, t2iCands, Float64Array.from(t2iPairs, (p) => itm[p]!));
  return {
    n,
    scores: { ...scores, ...directedRetrievalScores(i2t, t2i, n, 'itm_') },
    chance: { ...chance, ...retrievalChance(n, 'itm_') },
    rerank: k,
  };
}

/** Dual-encoder features of a batch's images or captions: [B, Hc], L2-normalised by the head. */
async function itcFeatures(config: FiberModelConfig, params: ParamTensors, b: RetrievalBatch, mode: 'image' | 'text'): Promise<Float32Array> {
  const s = b.imageSize, l = b.textLength, nb = b.numSamples;
  const feat = tf.tidy(() => {
    const inputs = mode === 'image'
      ? { pixelValues: tf.tensor4d(b.pixelValues, [nb, 3, s, s]) }
      : { inputIds: tf.tensor2d(b.inputIds, [nb, l], 'int32'), attentionMask: tf.tensor2d(b.attentionMask, [nb, l], 'int32') };
    // The outputs this does not return (image/text tokens) are freed by this tidy.
    return forwardOutputs(config, params, inputs, mode).get(mode === 'image' ? 'itc_image' : 'itc_text')!;
  });
  try {
    return (await feat.data()) as Float32Array;
  } finally {
    feat.dispose();
  }
}

/** images [N, Hc] . texts [N, Hc]^T: both are unit vectors (itcImageFeature / itcTextFeature), so this is the cosine. */
async function cosineSimilarity(images: Float32Array, texts: Float32Array, n: number, hc: number): Promise<Float32Array> {
  const sim = tf.tidy(() => tf.matMul(tf.tensor2d(images, [n, hc]), tf.tensor2d(texts, [n, hc]), false, true));
  try {
    return (await sim.data()) as Float32Array;
  } finally {
    sim.dispose();
  }
}

/**
 * ITM match score of each (image, text) pair: the log-odds logit[1] - logit[0] of the match class
 * (what ITM's softmax cross-entropy trains), from a fusion pass. The reference ranks by the raw
 * match logit (rank_output, §1.4 (c)); see docs/eval.md. Only the ITM head runs, not forwardOutputs,
 * whose fusion mode also computes MLM logits over the whole vocabulary for every token.
 */
async function itmScores(config: FiberModelConfig, params: ParamTensors, batches: readonly RetrievalBatch[], pairs: ReadonlyArray<readonly [number, number]>, opts: RetrievalOptions): Promise<Float64Array> {
  const first = batches[0]!;
  const s = first.imageSize, l = first.textLength, plane = 3 * s * s;
  const rows: Array<{ b: RetrievalBatch; r: number }> = batches.flatMap((b) => Array.from({ length: b.numSamples }, (_, r) => ({ b, r })));
  const out = new Float64Array(pairs.length);
  for (let start = 0; start < pairs.length; start += opts.batchSize) {
    const chunk = pairs.slice(start, start + opts.batchSize);
    const nb = chunk.length;
    const pixels = new Float32Array(nb * plane); // [B, 3, S, S]
    const ids = new Int32Array(nb * l); // [B, L]
    const mask = new Int32Array(nb * l);
    chunk.forEach(([img, txt], i) => {
      const im = rows[img]!, tx = rows[txt]!;
      pixels.set(im.b.pixelValues.subarray(im.r * plane, (im.r + 1) * plane), i * plane);
      ids.set(tx.b.inputIds.subarray(tx.r * l, (tx.r + 1) * l), i * l);
      mask.set(tx.b.attentionMask.subarray(tx.r * l, (tx.r + 1) * l), i * l);
    });
    const logOdds = tf.tidy(() => {
      const m = tf.tensor2d(mask, [nb, l], 'int32');
      const enc = encode(config, params, { pixelValues: tf.tensor4d(pixels, [nb, 3, s, s]), inputIds: tf.tensor2d(ids, [nb, l], 'int32'), attentionMask: m }, 'fusion', new DropoutContext(false, 0));
      const logits = itmLogits(params, fusionFeatures(params, enc.imageTokens!, enc.textTokens!).clsFeats); // [B, 2]
      return tf.sub(logits.slice([0, 1], [nb, 1]), logits.slice([0, 0], [nb, 1])).reshape([nb]);
    });
    try {
      out.set(await logOdds.data(), start);
    } finally {
      logOdds.dispose();
    }
    opts.onProgress?.({ phase: 'rerank', done: start + nb, total: pairs.length });
  }
  return out;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
