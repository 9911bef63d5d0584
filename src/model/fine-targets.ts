import { anchorBoxes, anchorCentres, boxIouPlusOne, levelSizes, type LevelGeometry } from './fine-anchors.js';

export type { LevelGeometry } from './fine-anchors.js';

/*
 * ATSS assignment (Zhang et al. 2020) as the reference's ATSSLossComputation.prepare_targets
 * does it, a pure function of the anchors and boxes (no tensors). A anchors over all levels, M boxes.
 */

/** Candidates per level, nearest by centre distance (MODEL.ATSS.TOPK x anchors per location = 9). */
export const ATSS_TOPK = 9;

export interface FineTargets {
  /** [A]: index of the assigned box, -1 for negatives. */
  readonly assigned: Int32Array;
  /** [A]: centerness target sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)) of the anchor centre in its box; 0 for negatives. */
  readonly centerness: Float32Array;
  readonly numPositive: number;
}

/**
 * For each real box: the ATSS_TOPK anchors per level whose centres are nearest its centre are
 * candidates; the IoU threshold is mean + std (unbiased, as torch.std) of the candidates' IoUs;
 * a candidate is positive when its IoU reaches the threshold and its centre lies inside the box
 * (every side more than 0.01 px away). An anchor positive for several boxes takes the one with
 * the highest IoU (the first on ties).
 * anchors [A, 4], boxes [M, 4] (x1, y1, x2, y2) pixels, boxMask [M] (1 = real).
 */
export function assignAtss(levels: readonly LevelGeometry[], boxes: Float32Array, boxMask: Int32Array, anchors: Float32Array = anchorBoxes(levels)): FineTargets {
  const centres = anchorCentres(anchors);
  const a = centres.length / 2;
  const sizes = levelSizes(levels);
  const assigned = new Int32Array(a).fill(-1);
  const bestIou = new Float64Array(a).fill(-Infinity);
  for (let g = 0; g < boxMask.length; g++) {
    if (!boxMask[g]) continue;
    const gx = (boxes[4 * g]! + boxes[4 * g + 2]!) / 2, gy = (boxes[4 * g + 1]! + boxes[4 * g + 3]!) / 2;
    const candidates: number[] = [];
    let start = 0;
    for (const n of sizes) {
      const idx = Array.from({ length: n }, (_, i) => start + i);
      const dist = (p: number) => Math.hypot(centres[2 * p]! - gx, centres[2 * p + 1]! - gy);
      // Stable sort: equal distances keep anchor order.
      idx.sort((p, q) => dist(p) - dist(q));
      candidates.push(...idx.slice(0, Math.min(ATSS_TOPK, n)));
      start += n;
    }
    const ious = candidates.map((p) => boxIouPlusOne(anchors, 4 * p, boxes, 4 * g));
    const mean = ious.reduce((x, y) => x + y, 0) / ious.length;
    const std = ious.length > 1 ? Math.sqrt(ious.reduce((x, y) => x + (y - mean) ** 2, 0) / (ious.length - 1)) : NaN;
    const threshold = mean + std;
    candidates.forEach((p, i) => {
      const cx = centres[2 * p]!, cy = centres[2 * p + 1]!;
      const inside = Math.min(cx - boxes[4 * g]!, cy - boxes[4 * g + 1]!, boxes[4 * g + 2]! - cx, boxes[4 * g + 3]! - cy) > 0.01;
      if (!(ious[i]! >= threshold) || !inside) return;
      if (ious[i]! > bestIou[p]!) {
        bestIou[p] = ious[i]!;
        assigned[p] = g;
      }
    });
  }
  const centerness = new Float32Array(a);
  let numPositive = 0;
  for (let p = 0; p < a; p++) {
    const g = assigned[p]!;
    if (g < 0) continue;
    numPositive++;
    const cx = centres[2 * p]!, cy = centres[2 * p + 1]!;
    const l = cx - boxes[4 * g]!, t = cy - boxes[4 * g + 1]!, r = boxes[4 * g + 2]! - cx, b = boxes[4 * g + 3]! - cy;
    centerness[p] = Math.sqrt((Math.min(l, r) / Math.max(l, r)) * (Math.min(t, b) / Math.max(t, b)));
  }
  return { assigned, centerness, numPositive };
}
