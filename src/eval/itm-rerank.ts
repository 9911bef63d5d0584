/*
 * ITM re-ranking of retrieval candidates, as pure functions: the dual encoder (ITC) shortlists
 * the top K candidates of every query, the fusion encoder's ITM head re-orders that shortlist
 * (ALBEF's protocol). The reference's `irtr_itm` evaluation scores every pair with ITM (§2.5);
 * a shortlist of Nc reproduces that. Nq queries, Nc candidates, K shortlist.
 */

/**
 * [Nq, K] indices of each row's K highest scores, best first; equal scores keep index order so
 * the shortlist is deterministic. Non-finite scores rank below every finite one.
 */
export function topCandidates(scores: ArrayLike<number>, nq: number, nc: number, k: number): Int32Array {
  if (!(Number.isInteger(k) && k >= 1 && k <= nc)) throw new RangeError(`shortlist size ${k} must be an integer in [1, ${nc}]`);
  const out = new Int32Array(nq * k);
  const order = new Int32Array(nc);
  const key = new Float64Array(nc);
  for (let q = 0; q < nq; q++) {
    for (let c = 0; c < nc; c++) {
      order[c] = c;
      const v = scores[q * nc + c]!;
      key[c] = Number.isFinite(v) ? v : -Infinity;
    }
    order.sort((a, b) => key[b]! - key[a]! || a - b);
    out.set(order.subarray(0, k), q * k);
  }
  return out;
}

/**
 * The score matrix after re-ranking: each row's shortlisted candidates ordered by their ITM
 * score and placed above every other candidate, the rest keep their ITC order below. Done by
 * shifting the shortlist's ITM scores above the row's best non-shortlisted score, so recallAtK
 * applies unchanged (and a shortlist of Nc is a pure ITM ranking).
 * scores [Nq, Nc], candidates [Nq, K] (topCandidates), itm [Nq, K] -> [Nq, Nc].
 */
export function rerankedScores(scores: ArrayLike<number>, nq: number, nc: number, candidates: Int32Array, itm: ArrayLike<number>): Float64Array {
  const k = candidates.length / nq;
  if (!Number.isInteger(k) || itm.length !== candidates.length) throw new RangeError(`candidates (${candidates.length}) and itm (${itm.length}) must both be [${nq}, K]`);
  const out = Float64Array.from(scores as ArrayLike<number>);
  const shortlisted = new Uint8Array(nc);
  for (let q = 0; q < nq; q++) {
    shortlisted.fill(0);
    let itmMin = Infinity;
    for (let j = 0; j < k; j++) {
      shortlisted[candidates[q * k + j]!] = 1;
      const v = itm[q * k + j]!;
      if (Number.isFinite(v)) itmMin = Math.min(itmMin, v);
    }
    let restMax = -Infinity;
    for (let c = 0; c < nc; c++) {
      const v = scores[q * nc + c]!;
      if (!shortlisted[c] && Number.isFinite(v)) restMax = Math.max(restMax, v);
    }
    // Every shortlisted score ends at least 1 above restMax; order inside the shortlist is ITM's.
    const shift = (Number.isFinite(restMax) ? restMax : 0) + 1 - (Number.isFinite(itmMin) ? itmMin : 0);
    for (let j = 0; j < k; j++) out[q * nc + candidates[q * k + j]!] = itm[q * k + j]! + shift;
  }
  return out;
}
