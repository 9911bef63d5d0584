import type { Rng } from '../pipeline/rng.js';
import { separation, type SceneShape, type ShapesScene } from './shapes-scene.js';

/**
 * Captions of a generated shapes scene, each with the character spans that name every shape
 * (MDETR's tokens_positive). Grammar, with NP = "a" | "an" + [size] colour kind:
 *   1 shape:  NP | NP WHERE | "a picture of" NP WHERE
 *   2 shapes: NP REL NP | NP "and" NP
 *   3 shapes: NP REL NP ", and" NP | NP "," NP "and" NP
 * REL is "left of" | "to the left of" | "right of" | "to the right of" | "above" | "below", read
 * off the boxes, and WHERE is the image third the shape's centre falls in ("at the top left", "on
 * the right", "in the middle"). Left and right are whole words, so a flipped image's caption
 * can swap them.
 */

export type Span = readonly [number, number];

/** A caption and, per shape of the scene (scene order), the spans of the phrase naming it. */
export interface GroundedCaption {
  readonly text: string;
  readonly spans: ReadonlyArray<readonly Span[]>;
}

/** A noun phrase for shape `shape`; `sized` adds "large" / "small". */
interface Mention {
  readonly shape: number;
  readonly sized: boolean;
}
type Part = string | Mention;

/**
 * Three paraphrases of `scene` in a seeded random order. Every caption names every shape exactly
 * once, so any of them can be the grounding caption; relations and sizes vary between them, which
 * keeps captions of different scenes apart for retrieval.
 */
export function captionScene(scene: ShapesScene, rng: Rng): GroundedCaption[] {
  const n = scene.shapes.length;
  const order = shuffle(rng, [...Array(n).keys()]);
  const [a, b, c] = order as [number, number, number];
  const sized = (): boolean => rng.next() < 0.5;
  const np = (shape: number, s: boolean): Mention => ({ shape, sized: s });
  const rel = (x: number, y: number): string => relation(scene.shapes[x] as SceneShape, scene.shapes[y] as SceneShape, rng);
  let forms: Part[][];
  if (n === 1) {
    const at = ` ${where(scene.shapes[a] as SceneShape, scene.width, scene.height)}`;
    forms = [[np(a, true)], [np(a, false), at], ['a picture of ', np(a, sized()), at]];
  } else if (n === 2) {
    const s = sized();
    forms = [
      [np(a, s), ` ${rel(a, b)} `, np(b, s)],
      [np(b, !s), ` ${rel(b, a)} `, np(a, !s)],
      [np(a, sized()), ' and ', np(b, sized())],
    ];
  } else {
    const s = sized();
    const t = sized();
    forms = [
      [np(a, s), ` ${rel(a, b)} `, np(b, s), ', and ', np(c, s)],
      [np(c, t), ` ${rel(c, a)} `, np(a, t), ', and ', np(b, t)],
      [np(a, !s), ', ', np(b, !s), ' and ', np(c, !s)],
    ];
  }
  return shuffle(rng, forms.map((parts) => render(parts, scene)));
}

/** Where `x` is relative to `y`, along the axis that separates their boxes most. */
function relation(x: SceneShape, y: SceneShape, rng: Rng): string {
  const { axis } = separation(x.box, y.box);
  if (axis === 'y') return x.box[3] <= y.box[1] ? 'above' : 'below';
  const side = x.box[2] <= y.box[0] ? 'left' : 'right';
  return rng.next() < 0.5 ? `${side} of` : `to the ${side} of`;
}

/** Which third of the image, across and down, the shape's centre is in. */
function where(shape: SceneShape, width: number, height: number): string {
  const third = (v: number, size: number): 0 | 1 | 2 => (v < size / 3 ? 0 : v < (2 * size) / 3 ? 1 : 2);
  const col = (['left', '', 'right'] as const)[third((shape.box[0] + shape.box[2]) / 2, width)];
  const row = (['top', '', 'bottom'] as const)[third((shape.box[1] + shape.box[3]) / 2, height)];
  if (row && col) return `at the ${row} ${col}`;
  if (row) return `at the ${row}`;
  return col ? `on the ${col}` : 'in the middle';
}

function render(parts: readonly Part[], scene: ShapesScene): GroundedCaption {
  let text = '';
  const spans: Span[][] = scene.shapes.map(() => []);
  for (const part of parts) {
    if (typeof part === 'string') {
      text += part;
      continue;
    }
    const shape = scene.shapes[part.shape] as SceneShape;
    const phrase = `${part.sized ? (shape.large ? 'large ' : 'small ') : ''}${shape.colour} ${shape.kind}`;
    text += /^[aeiou]/.test(phrase) ? 'an ' : 'a ';
    // The span is the phrase without its article, as MDETR's annotations mark noun phrases.
    spans[part.shape]?.push([text.length, text.length + phrase.length]);
    text += phrase;
  }
  return { text, spans };
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
