/*
 * Recall@K of a retrieval score matrix, as pure functions (no tensors). Nq queries, Nc
 * candidates; `scores` is [Nq, Nc] row-major, higher = more similar; `truth[q]` is the index of
 * the one correct candidate of query q.
 */

/** Where the correct candidate of each query ranks: `greater` candidates beat it, `tied` others equal it. */
export interface TruthRanks {
  /** [Nq] candidates with a strictly higher score than the correct one. */
  readonly greater: Int32Array;
  /** [Nq] other candidates with exactly the correct one's score. */
  readonly tied: Int32Array;
}

/**
 * Counts, per query, the candidates that beat or tie the correct one. A non-finite score never
 * beats anything (a NaN row cannot lift a wrong candidate); a non-finite *correct* score ranks
 * last, so a model that produces NaN scores 0, not chance.
 */
export function truthRanks(scores: ArrayLike<number>, nq: number, nc: number, truth: ArrayLike<number>): TruthRanks {
  if (scores.length !== nq * nc) throw new RangeError(`scores has ${scores.length} values, expected ${nq} x ${nc}`);
  if (truth.length !== nq) throw new RangeError(`truth has ${truth.length} entries, expected ${nq}`);
  const greater = new Int32Array(nq);
  const tied = new Int32Array(nq);
  for (let q = 0; q < nq; q++) {
    const t = truth[q]!;
    if (!(Number.isInteger(t) && t >= 0 && t < nc)) throw new RangeError(`truth[${q}] = ${t} is not a candidate index in [0, ${nc})`);
    const row = q * nc;
    const s = scores[row + t]!;
    if (!Number.isFinite(s)) {
      greater[q] = nc - 1;
      continue;
    }
    let g = 0, e = 0;
    for (let c = 0; c < nc; c++) {
      if (c === t) continue;
      const v = scores[row + c]!;
      if (v > s) g++;
      else if (v === s) e++;
    }
    greater[q] = g;
    tied[q] = e;
  }
  return { greater, tied };
}

/**
 * Probability that the correct candidate is in the top K when ties are broken uniformly at
 * random: it sits after the `greater` ones and at a uniform place among its `tied + 1` equals, so
 * P(rank < K) = clamp((K - greater) / (tied + 1), 0, 1). This is why a constant score matrix
 * scores exactly K / Nc (chance) rather than 1 (ties counted as wins) or 0 (as losses).
 */
export function expectedHitAtK(greater: number, tied: number, k: number): number {
  return Math.min(1, Math.max(0, (k - greater) / (tied + 1)));
}

/** Recall@K for each K in `ks`: the mean over queries of expectedHitAtK. Empty input gives NaN. */
export function recallAtK(scores: ArrayLike<number>, nq: number, nc: number, truth: ArrayLike<number>, ks: readonly number[]): number[] {
  const { greater, tied } = truthRanks(scores, nq, nc, truth);
  return ks.map((k) => {
    let sum = 0;
    for (let q = 0; q < nq; q++) sum += expectedHitAtK(greater[q]!, tied[q]!, k);
    return sum / nq;
  });
}

/** [Nq, Nc] -> [Nc, Nq]: the same scores seen from the other side (image->text becomes text->image). */
export function transposeScores(scores: ArrayLike<number>, nq: number, nc: number): Float64Array {
  const out = new Float64Array(nq * nc);
  for (let q = 0; q < nq; q++) for (let c = 0; c < nc; c++) out[c * nq + q] = scores[q * nc + c]!;
  return out;
}
