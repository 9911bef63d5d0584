/*
 * FCOS-style target assignment for the fine head, as a pure function of the boxes (no tensors).
 * A = anchor points over all levels (level-major, then row-major), M boxes, L text tokens.
 */

export interface LevelGeometry {
  readonly stride: number;
  readonly height: number;
  readonly width: number;
}

export interface FineTargets {
  /** [A]: index of the assigned box, -1 for negatives. */
  readonly assigned: Int32Array;
  /** [A, 4]: (left, top, right, bottom) distances in pixels from the point to its box; 0 for negatives. */
  readonly ltrb: Float32Array;
  /** [A]: centerness target sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)); 0 for negatives. */
  readonly centerness: Float32Array;
  readonly numPositive: number;
}

/** Anchor point of cell (i, j) on a level: the cell centre, as in FCOS (j * s + s // 2). */
export function anchorPoints(levels: readonly LevelGeometry[]): Float32Array {
  const total = levels.reduce((a, l) => a + l.height * l.width, 0);
  const out = new Float32Array(total * 2);
  let k = 0;
  for (const l of levels) {
    for (let i = 0; i < l.height; i++) {
      for (let j = 0; j < l.width; j++, k++) {
        out[2 * k] = j * l.stride + Math.floor(l.stride / 2);
        out[2 * k + 1] = i * l.stride + Math.floor(l.stride / 2);
      }
    }
  }
  return out;
}

/**
 * FCOS regression ranges per level, in pixels: (0, 64), (64, 128), (128, 256), (256, 512),
 * (512, inf) for strides 8-128, i.e. (4, 8) strides of the level. Kept in pixels whatever the
 * image size: it is the ratio of an object to its level's stride that gives it enough anchor
 * points to learn from (an object spans 4-16 strides of its level). Scaling the ranges with the
 * image size, as fiber did before, sent a 24 px object of a 64 px image to P5 (stride 32), where
 * it had exactly one point: grounding then barely learned (docs/decisions.md).
 */
export function fcosSizeRanges(levels: readonly LevelGeometry[]): Array<[number, number]> {
  return levels.map((l, i) => [i === 0 ? 0 : 4 * l.stride, i === levels.length - 1 ? Infinity : 8 * l.stride]);
}

/**
 * FCOS assignment: a point is positive for a box when it lies inside the box and the box's
 * largest ltrb distance falls in the level's range (fcosSizeRanges); ties go to the smallest box. A box
 * that no point claims (smaller than a stride) takes its nearest unassigned point, so every
 * ground-truth box trains the head (ATSS guarantees the same).
 * boxes [M, 4] (x1, y1, x2, y2) pixels, boxMask [M] (1 = real).
 */
export function assignFcosTargets(levels: readonly LevelGeometry[], boxes: Float32Array, boxMask: Int32Array): FineTargets {
  const points = anchorPoints(levels);
  const a = points.length / 2;
  const m = boxMask.length;
  const assigned = new Int32Array(a).fill(-1);
  const ltrb = new Float32Array(a * 4);
  const centerness = new Float32Array(a);
  const bestArea = new Float64Array(a).fill(Infinity);
  const ranges = fcosSizeRanges(levels);
  const levelOf = new Int32Array(a);
  let k = 0;
  levels.forEach((l, li) => {
    for (let n = 0; n < l.height * l.width; n++) levelOf[k++] = li;
  });
  const dist = (p: number, b: number): [number, number, number, number] => {
    const x = points[2 * p]!, y = points[2 * p + 1]!;
    return [x - boxes[4 * b]!, y - boxes[4 * b + 1]!, boxes[4 * b + 2]! - x, boxes[4 * b + 3]! - y];
  };
  const claimed = new Int32Array(m);
  for (let b = 0; b < m; b++) {
    if (!boxMask[b]) continue;
    const area = (boxes[4 * b + 2]! - boxes[4 * b]!) * (boxes[4 * b + 3]! - boxes[4 * b + 1]!);
    for (let p = 0; p < a; p++) {
      const d = dist(p, b);
      if (Math.min(...d) <= 0) continue;
      const reach = Math.max(...d);
      const [lo, hi] = ranges[levelOf[p]!]!;
      if (reach < lo || reach > hi) continue;
      claimed[b]! += 1;
      if (area < bestArea[p]!) {
        bestArea[p] = area;
        assigned[p] = b;
      }
    }
  }
  for (let b = 0; b < m; b++) {
    if (!boxMask[b] || claimed[b]) continue;
    const cx = (boxes[4 * b]! + boxes[4 * b + 2]!) / 2, cy = (boxes[4 * b + 1]! + boxes[4 * b + 3]!) / 2;
    let best = -1, bestD = Infinity;
    for (let p = 0; p < a; p++) {
      if (assigned[p] !== -1) continue;
      const dd = (points[2 * p]! - cx) ** 2 + (points[2 * p + 1]! - cy) ** 2;
      if (dd < bestD) {
        bestD = dd;
        best = p;
      }
    }
    if (best >= 0) assigned[best] = b;
  }
  let numPositive = 0;
  for (let p = 0; p < a; p++) {
    const b = assigned[p]!;
    if (b < 0) continue;
    numPositive++;
    // A fallback point may lie outside its tiny box: clamp distances to keep the targets valid.
    const d = dist(p, b).map((v) => Math.max(v, 0.5)) as [number, number, number, number];
    ltrb.set(d, 4 * p);
    centerness[p] = Math.sqrt((Math.min(d[0], d[2]) / Math.max(d[0], d[2])) * (Math.min(d[1], d[3]) / Math.max(d[1], d[3])));
  }
  return { assigned, ltrb, centerness, numPositive };
}
