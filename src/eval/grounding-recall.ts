/*
 * Flickr30k-style phrase Recall@K as pure functions of one phrase's anchor scores: the anchors
 * ranked by the phrase's score (no NMS), a phrase is recalled at K if any of its top K boxes hits
 * (IoU >= 0.5 with any of its ground-truth boxes, the "any box" protocol). A anchors.
 */

/** The K of R@K reported for grounding (Flickr30k Entities, MDETR's RefExp P@K). */
export const GROUNDING_KS = [1, 5, 10] as const;

/**
 * Recall at each K of `ks` for one phrase: scores [A], hits [A] (1 where the anchor's box hits).
 * Ties are broken uniformly at random, in expectation, so a model that scores every anchor the
 * same gets exactly chance (chanceRecallAtK), not the luck of anchor order: with the anchors
 * ranked above a tie group all missing, and r of the tie group's n anchors (h of them hits)
 * needed to fill K, the value is P(at least one hit among r drawn) = 1 - C(n-h, r) / C(n, r).
 * Non-finite scores rank below every finite one (they never win), tied among themselves.
 * K >= A gives 1 if any anchor hits. Only the top max(ks) ranks are sorted.
 */
export function recallAtK(scores: ArrayLike<number>, hits: ArrayLike<number>, ks: readonly number[] = GROUNDING_KS): number[] {
  const a = scores.length;
  if (hits.length !== a) throw new RangeError(`hits has ${hits.length} values, scores ${a}`);
  if (ks.some((k) => !Number.isSafeInteger(k) || k < 1)) throw new RangeError(`K must be an integer >= 1, got ${ks.join(', ')}`);
  const key = (p: number): number => (Number.isFinite(scores[p]!) ? scores[p]! : -Infinity);
  // The max(ks)-th best key: nothing below it can enter a top K.
  const kmax = Math.min(a, Math.max(...ks));
  const top: number[] = []; // the kmax largest keys, descending
  for (let p = 0; p < a; p++) {
    const v = key(p);
    if (top.length === kmax && v <= top[kmax - 1]!) continue;
    let i = top.length < kmax ? top.length : kmax - 1;
    top[i] = v;
    while (i > 0 && top[i - 1]! < top[i]!) {
      [top[i - 1], top[i]] = [top[i]!, top[i - 1]!];
      i--;
    }
  }
  const floor = top[kmax - 1] ?? -Infinity;
  // Tie groups of the ranked candidates, best first: [size, hits].
  const byKey = new Map<number, [number, number]>();
  for (let p = 0; p < a; p++) {
    const v = key(p);
    if (v < floor) continue;
    const g = byKey.get(v) ?? [0, 0];
    g[0]++;
    if (hits[p]! > 0) g[1]++;
    byKey.set(v, g);
  }
  const groups = [...byKey.entries()].sort((x, y) => y[0] - x[0]).map(([, g]) => g);
  return ks.map((k) => {
    let before = 0;
    for (const [n, h] of groups) {
      if (before + n <= k) {
        if (h > 0) return 1;
        before += n;
        continue;
      }
      return hitChance(n, h, k - before);
    }
    return 0;
  });
}

/** Recall at each K of a uniformly random ranking of A anchors of which `hits` hit. */
export function chanceRecallAtK(numAnchors: number, hits: number, ks: readonly number[] = GROUNDING_KS): number[] {
  return ks.map((k) => (k >= numAnchors ? (hits > 0 ? 1 : 0) : hitChance(numAnchors, hits, k)));
}

/**
 * 1 - C(n-h, r) / C(n, r): the chance that r anchors drawn without replacement from n, h of them
 * hits, include a hit. r = 1 is h / n exactly, the same number as groundPhrase's tied-best hit.
 */
function hitChance(n: number, h: number, r: number): number {
  if (r === 1) return h / n;
  let miss = 1;
  for (let i = 0; i < r; i++) {
    if (n - h - i <= 0) return 1;
    miss *= (n - h - i) / (n - i);
  }
  return 1 - miss;
}
