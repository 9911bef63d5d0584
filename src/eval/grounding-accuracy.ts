import { boxIou, type Box } from './box-iou.js';
import { chanceRecallAtK, GROUNDING_KS, recallAtK } from './grounding-recall.js';

/*
 * Phrase grounding as pure functions of the fine head's outputs for one image (no tensors).
 * A anchor points over all FPN levels, L query tokens. The head gives, per anchor, token
 * probabilities sigmoid(S) [A, L], a centerness probability [A] and a decoded box [A, 4].
 */

/** IoU a predicted box needs with a ground-truth box of the phrase (Flickr30k Entities, RefCOCO acc@0.5). */
export const HIT_IOU = 0.5;

/**
 * Score of every anchor for one phrase, as GLIP's post-processor ranks boxes (SCORE_AGG MEAN,
 * reference §4): the mean of sigmoid(S) over the phrase's tokens, times sigmoid(centerness).
 * (GLIP reports sqrt of that product, which orders anchors the same way.)
 * tokenProbs [A, L], centerness [A], tokens: positions in [0, L) -> [A].
 */
export function phraseAnchorScores(tokenProbs: ArrayLike<number>, centerness: ArrayLike<number>, length: number, tokens: readonly number[]): Float64Array {
  const a = centerness.length;
  if (tokenProbs.length !== a * length) throw new RangeError(`tokenProbs has ${tokenProbs.length} values, expected ${a} x ${length}`);
  if (tokens.length === 0) throw new RangeError('a phrase needs at least one token');
  const out = new Float64Array(a);
  for (let p = 0; p < a; p++) {
    let sum = 0;
    for (const t of tokens) sum += tokenProbs[p * length + t]!;
    out[p] = (sum / tokens.length) * centerness[p]!;
  }
  return out;
}

/**
 * The boxes the anchors predict (x1, y1, x2, y2), clipped to the real image (width x height at
 * the top left of the padded input), as maskrcnn-benchmark's clip_to_image does before boxes are
 * scored. boxes [A, 4] -> [A, 4].
 */
export function clipBoxes(boxes: ArrayLike<number>, width: number, height: number): Float32Array {
  if (boxes.length % 4 !== 0) throw new RangeError(`boxes has ${boxes.length} values, not a multiple of 4`);
  const out = new Float32Array(boxes.length);
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = clip(boxes[i]!, width);
    out[i + 1] = clip(boxes[i + 1]!, height);
    out[i + 2] = clip(boxes[i + 2]!, width);
    out[i + 3] = clip(boxes[i + 3]!, height);
  }
  return out;
}

/** How one phrase went. Each is in [0, 1]; averaged over phrases they are the reported scores. */
export interface PhraseOutcome {
  /**
   * 1 when the best-scoring anchor's box hits (IoU >= 0.5 with any of the phrase's boxes). When
   * several anchors share the best score, the expected hit of a uniform pick among them, so a
   * model whose scores are all equal gets the chance level, not a lucky first anchor.
   */
  readonly hit: number;
  /** Chance: the share of anchors whose box hits, i.e. the expected hit of a uniformly random anchor. */
  readonly chance: number;
  /** 1 when some anchor's box hits: the most any text scoring could reach with these boxes. */
  readonly oracle: number;
  /** Recall at each K of GROUNDING_KS (recallAtK): some box of the phrase's top K anchors hits. recall[0] (K = 1) is `hit`. */
  readonly recall: readonly number[];
  /** The same for a uniformly random ranking of the anchors (chanceRecallAtK). */
  readonly chanceRecall: readonly number[];
}

/**
 * Grounds one phrase: scores [A] (phraseAnchorScores), boxes [A, 4] (clipBoxes), truth the
 * phrase's ground-truth boxes. Non-finite scores never win.
 */
export function groundPhrase(scores: ArrayLike<number>, boxes: ArrayLike<number>, truth: readonly Box[], threshold = HIT_IOU): PhraseOutcome {
  const a = scores.length;
  if (boxes.length !== a * 4) throw new RangeError(`boxes has ${boxes.length} values, expected ${a} x 4`);
  if (truth.length === 0) throw new RangeError('a phrase needs at least one ground-truth box');
  let best = -Infinity;
  for (let p = 0; p < a; p++) if (Number.isFinite(scores[p]!) && scores[p]! > best) best = scores[p]!;
  const hitAt = new Uint8Array(a);
  let hits = 0, bestCount = 0, bestHits = 0;
  for (let p = 0; p < a; p++) {
    const box: Box = [boxes[4 * p]!, boxes[4 * p + 1]!, boxes[4 * p + 2]!, boxes[4 * p + 3]!];
    const hit = truth.some((t) => boxIou(box, t) >= threshold);
    if (hit) {
      hits++;
      hitAt[p] = 1;
    }
    // With no finite score at all, every anchor is "best": the pick is uniform, i.e. chance.
    const isBest = best === -Infinity || scores[p] === best;
    if (isBest) {
      bestCount++;
      if (hit) bestHits++;
    }
  }
  return {
    hit: bestHits / bestCount, chance: hits / a, oracle: hits > 0 ? 1 : 0,
    recall: recallAtK(scores, hitAt, GROUNDING_KS), chanceRecall: chanceRecallAtK(a, hits, GROUNDING_KS),
  };
}
