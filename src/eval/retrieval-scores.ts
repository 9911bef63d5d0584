import { recallAtK, transposeScores } from './recall-at-k.js';

/*
 * Named retrieval scores of an N x N image-text score matrix where image i and text i are the
 * pair (one caption per image). i2t = image->text (the reference's TR, text retrieval), t2i =
 * text->image (IR). Keys: `<prefix>i2t_r1`, `…_r5`, `…_r10`, `<prefix>t2i_r1`, …, and
 * `<prefix>r_mean`, the mean of the six (the reference's RSUM / 6).
 */

export const RECALL_KS = [1, 5, 10] as const;

/** Recall@1/5/10 in both directions and their mean. scores [N images, N texts]. */
export function retrievalScores(scores: ArrayLike<number>, n: number, prefix = ''): Record<string, number> {
  return directedRetrievalScores(scores, transposeScores(scores, n, n), n, prefix);
}

/**
 * The same from one matrix per direction, for when the two differ (ITM re-ranking shortlists
 * per query): i2t [N images, N texts], t2i [N texts, N images].
 */
export function directedRetrievalScores(i2tScores: ArrayLike<number>, t2iScores: ArrayLike<number>, n: number, prefix = ''): Record<string, number> {
  const truth = Int32Array.from({ length: n }, (_, i) => i);
  return named(recallAtK(i2tScores, n, n, truth, RECALL_KS), recallAtK(t2iScores, n, n, truth, RECALL_KS), prefix);
}

/**
 * What a score matrix carrying no information gets: with one correct candidate among N and ties
 * (or a random order) the expected Recall@K is min(K, N) / N in both directions.
 */
export function retrievalChance(n: number, prefix = ''): Record<string, number> {
  const r = RECALL_KS.map((k) => Math.min(k, n) / n);
  return named(r, r, prefix);
}

function named(i2t: readonly number[], t2i: readonly number[], prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  RECALL_KS.forEach((k, i) => {
    out[`${prefix}i2t_r${k}`] = i2t[i]!;
  });
  RECALL_KS.forEach((k, i) => {
    out[`${prefix}t2i_r${k}`] = t2i[i]!;
  });
  out[`${prefix}r_mean`] = [...i2t, ...t2i].reduce((a, b) => a + b, 0) / (i2t.length + t2i.length);
  return out;
}
