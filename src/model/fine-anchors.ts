/*
 * The fine head's anchors (reference RPN config: one anchor per location, aspect 1, one scale,
 * ANCHOR_SIZES 64-1024 = 8 x ANCHOR_STRIDE 8-128) and the ATSS box coder, as pure functions.
 * A = anchors over all levels, level-major then row-major.
 */

export interface LevelGeometry {
  readonly stride: number;
  readonly height: number;
  readonly width: number;
}

/**
 * The reference's anchor side in strides (RPN.ANCHOR_SIZES / ANCHOR_STRIDE = 64/8 ... 1024/128):
 * the default of model.fineAnchorStrides, and fiber-base's value.
 */
export const ANCHOR_SIZE_IN_STRIDES = 8;

/** BoxCoder weights (wx, wy, ww, wh) of vldyhead.py. */
export const BOX_CODER_WEIGHTS = [10, 10, 5, 5] as const;

/** dw, dh are clamped here before exp when decoding (vldyhead.py BoxCoder.decode). */
export const BOX_DELTA_CLAMP = Math.log(1000 / 16);

/**
 * maskrcnn-benchmark's anchors (generate_anchors + grid_anchors): cell (i, j) of a level with
 * stride s has centre (j s + (s - 1) / 2, i s + (s - 1) / 2) and corners centre -+ (k s - 1) / 2,
 * i.e. width k s in the "+1" pixel convention the coder and IoU use, k = sizeInStrides (the
 * reference's 8 unless model.fineAnchorStrides says otherwise). -> [A, 4] (x1, y1, x2, y2).
 */
export function anchorBoxes(levels: readonly LevelGeometry[], sizeInStrides: number = ANCHOR_SIZE_IN_STRIDES): Float32Array {
  const total = levels.reduce((a, l) => a + l.height * l.width, 0);
  const out = new Float32Array(total * 4);
  let k = 0;
  for (const l of levels) {
    const half = (sizeInStrides * l.stride - 1) / 2;
    const c0 = (l.stride - 1) / 2;
    for (let i = 0; i < l.height; i++) {
      for (let j = 0; j < l.width; j++, k++) {
        const cx = j * l.stride + c0, cy = i * l.stride + c0;
        out.set([cx - half, cy - half, cx + half, cy + half], 4 * k);
      }
    }
  }
  return out;
}

/** Anchor centres ((x1 + x2) / 2, (y1 + y2) / 2): [A, 4] -> [A, 2]. */
export function anchorCentres(anchors: Float32Array): Float32Array {
  const a = anchors.length / 4;
  const out = new Float32Array(a * 2);
  for (let p = 0; p < a; p++) {
    out[2 * p] = (anchors[4 * p]! + anchors[4 * p + 2]!) / 2;
    out[2 * p + 1] = (anchors[4 * p + 1]! + anchors[4 * p + 3]!) / 2;
  }
  return out;
}

/** Anchors per level, in order. */
export function levelSizes(levels: readonly LevelGeometry[]): number[] {
  return levels.map((l) => l.height * l.width);
}

/**
 * maskrcnn-benchmark's boxlist_iou ("+1" convention: a box [x1, x2] spans x2 - x1 + 1 pixels).
 * a, b: (x1, y1, x2, y2).
 */
export function boxIouPlusOne(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const areaA = (a[ai + 2]! - a[ai]! + 1) * (a[ai + 3]! - a[ai + 1]! + 1);
  const areaB = (b[bi + 2]! - b[bi]! + 1) * (b[bi + 3]! - b[bi + 1]! + 1);
  const iw = Math.max(0, Math.min(a[ai + 2]!, b[bi + 2]!) - Math.max(a[ai]!, b[bi]!) + 1);
  const ih = Math.max(0, Math.min(a[ai + 3]!, b[bi + 3]!) - Math.max(a[ai + 1]!, b[bi + 1]!) + 1);
  const inter = iw * ih;
  return inter / (areaA + areaB - inter);
}
