import type { Rng } from '../pipeline/rng.js';

/**
 * The layout of one generated "shapes" scene (`fiber data synth`, `fiber demo`): 1 to 3 flat
 * shapes of distinct colours on a light background, placed so that no two bounding boxes touch.
 * Disjoint boxes keep every shape fully visible, so its box, its colour at the box centre and
 * the spatial relation between any two shapes are exact, which is what lets a tiny model learn
 * retrieval and grounding from a few hundred images.
 */

/** Shape words, as captions use them. */
export const SHAPE_KINDS = ['circle', 'square', 'triangle', 'bar'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** Colour words and their RGB fill (Tableau 10 hues: far apart, and all far from the light background). */
export const SHAPE_COLOURS = {
  red: [214, 39, 40],
  orange: [255, 127, 14],
  yellow: [240, 200, 20],
  green: [44, 160, 44],
  blue: [31, 119, 180],
  purple: [148, 80, 189],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ShapeColour = keyof typeof SHAPE_COLOURS;
export const SHAPE_COLOUR_NAMES = Object.keys(SHAPE_COLOURS) as ShapeColour[];

export type Rgb = readonly [number, number, number];
/** [x0, y0, x1, y1] in pixels; x1 and y1 are exclusive, so the box is exactly the drawn pixels' extent. */
export type PixelBox = readonly [number, number, number, number];

export interface SceneShape {
  readonly kind: ShapeKind;
  readonly colour: ShapeColour;
  /** Large shapes span 24-30 px at 64 px, small ones 14-18: far enough apart that "large" and "small" are never a judgement call. */
  readonly large: boolean;
  readonly box: PixelBox;
}

export interface ShapesScene {
  /** Image width and height in pixels. */
  readonly width: number;
  readonly height: number;
  readonly background: Rgb;
  readonly shapes: readonly SceneShape[];
  /** Seeds the background noise, so rendering is a pure function of the scene. */
  readonly noiseSeed: number;
}

/**
 * Scene shapes (width : height), drawn per scene: square, landscape and portrait, so the fine
 * stage sees images of several shapes as it does real photos (reference §3.3: aspect kept).
 */
export const SCENE_ASPECTS = [[1, 1], [3, 2], [2, 3]] as const;

/** Extents at a 64 px shorter side; other sizes scale them. */
const LARGE = [24, 30] as const;
const SMALL = [14, 18] as const;
/** A bar is this fraction as thick as it is long. */
const BAR_THICKNESS = 0.4;
/** Pixels kept free around the image edge and between two shapes' boxes (at 64 px). */
const EDGE = 2;
const GAP = 3;
const PLACEMENT_TRIES = 64;

/**
 * Draw one scene: aspect (SCENE_ASPECTS; `size` is the shorter side), shape count, kinds,
 * distinct colours, sizes, positions, background tint.
 */
export function layoutScene(rng: Rng, size: number): ShapesScene {
  const [aw, ah] = SCENE_ASPECTS[rng.int(SCENE_ASPECTS.length)]!;
  const width = Math.round((size * aw) / Math.min(aw, ah));
  const height = Math.round((size * ah) / Math.min(aw, ah));
  const k = size / 64;
  const edge = Math.round(EDGE * k);
  const gap = Math.max(1, Math.round(GAP * k));
  const grey = 190 + rng.int(50);
  const tint = (): number => clampByte(grey + rng.int(21) - 10);
  const background: Rgb = [tint(), tint(), tint()];
  const colours = [...SHAPE_COLOUR_NAMES];
  // One shape in five scenes: single-shape captions have the fewest distinct wordings, and
  // retrieval needs captions that tell scenes apart.
  const wanted = [1, 2, 2, 3, 3][rng.int(5)] as number;
  const shapes: SceneShape[] = [];
  for (let n = 0; n < wanted; n++) {
    const kind = SHAPE_KINDS[rng.int(SHAPE_KINDS.length)] as ShapeKind;
    const colour = colours.splice(rng.int(colours.length), 1)[0] as ShapeColour;
    const vertical = rng.next() < 0.5; // bars only
    // A large shape that finds no room is tried small before the scene settles for fewer shapes.
    for (const large of rng.next() < 0.5 ? [true, false] : [false]) {
      const [lo, hi] = large ? LARGE : SMALL;
      const extent = Math.round((lo + rng.int(hi - lo + 1)) * k);
      const thin = Math.max(2, Math.round(extent * BAR_THICKNESS));
      const [w, h] = kind !== 'bar' ? [extent, extent] : vertical ? [thin, extent] : [extent, thin];
      const box = place(rng, width, height, edge, gap, w, h, shapes);
      if (box) {
        shapes.push({ kind, colour, large, box });
        break;
      }
    }
  }
  return { width, height, background, shapes, noiseSeed: rng.int(2 ** 32) };
}

/** A free spot for a w x h box, or undefined after a bounded number of random tries. */
function place(rng: Rng, width: number, height: number, edge: number, gap: number, w: number, h: number, placed: readonly SceneShape[]): PixelBox | undefined {
  const spanX = width - 2 * edge - w;
  const spanY = height - 2 * edge - h;
  if (spanX < 0 || spanY < 0) return undefined;
  for (let t = 0; t < PLACEMENT_TRIES; t++) {
    const x0 = edge + rng.int(spanX + 1);
    const y0 = edge + rng.int(spanY + 1);
    const box: PixelBox = [x0, y0, x0 + w, y0 + h];
    if (placed.every((s) => separation(box, s.box).gap >= gap)) return box;
  }
  return undefined;
}

/**
 * How two boxes are apart: along the axis where the empty space between them is widest. `gap` is
 * that space in pixels (negative when the boxes overlap).
 */
export function separation(a: PixelBox, b: PixelBox): { axis: 'x' | 'y'; gap: number } {
  const gapX = Math.max(b[0] - a[2], a[0] - b[2]);
  const gapY = Math.max(b[1] - a[3], a[1] - b[3]);
  return gapX >= gapY ? { axis: 'x', gap: gapX } : { axis: 'y', gap: gapY };
}

function clampByte(v: number): number {
  return Math.max(0, Math.min(255, v));
}
