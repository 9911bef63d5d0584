import type { BadSampleCounter } from '../bad-sample.js';
import type { Rng } from './rng.js';

/**
 * Fine-stage targets: boxes carried through the image transform, captions flipped with the image,
 * detection labels turned into a category prompt, and GLIP's token-level positive map.
 */

export type Box = readonly [number, number, number, number];
export type Span = readonly [number, number];

/** A box with the caption spans that name it. */
export interface GroundedBox {
  readonly box: Box;
  readonly spans: readonly Span[];
}

/**
 * Clip boxes to the image and drop the unusable ones (counted): zero area before clipping, or
 * nothing left inside the image after. Spans outside the caption are dropped (counted), and a box
 * left with no span is dropped.
 */
export function cleanBoxes(boxes: readonly Box[], spans: ReadonlyArray<readonly Span[]>, width: number, height: number, captionLength: number, where: { shard: string; key: string }, bad: BadSampleCounter): GroundedBox[] {
  const out: GroundedBox[] = [];
  boxes.forEach((b, i) => {
    const [x0, y0, x1, y1] = b;
    if (!(x1 > x0 && y1 > y0)) {
      bad.add({ ...where, reason: 'zero_area_box', detail: `box ${i} ${JSON.stringify(b)}` });
      return;
    }
    const c: Box = [clamp(x0, 0, width), clamp(y0, 0, height), clamp(x1, 0, width), clamp(y1, 0, height)];
    if (!(c[2] > c[0] && c[3] > c[1])) {
      bad.add({ ...where, reason: 'box_outside_image', detail: `box ${i} ${JSON.stringify(b)} in ${width}x${height}` });
      return;
    }
    const good = (spans[i] ?? []).filter(([s, e]) => s >= 0 && e > s && e <= captionLength);
    if (good.length < (spans[i] ?? []).length) bad.add({ ...where, reason: 'span_outside_caption', detail: `box ${i}` });
    if (good.length > 0) out.push({ box: c, spans: good });
  });
  return out;
}

/** Scale boxes from the stored image to the transformed one, mirrored if the image was flipped. */
export function transformBox(b: Box, scaleX: number, scaleY: number, flipWidth: number | undefined): Box {
  let [x0, y0, x1, y1] = [b[0] * scaleX, b[1] * scaleY, b[2] * scaleX, b[3] * scaleY];
  if (flipWidth !== undefined) [x0, x1] = [flipWidth - x1, flipWidth - x0];
  return [x0, y0, x1, y1];
}

/**
 * Swap the words "left" and "right" (any case, whole words) so a flipped image still matches its
 * caption, and move character spans to the new text ("left" and "right" differ in length).
 */
export function swapLeftRight(caption: string, spans: ReadonlyArray<readonly Span[]>): { caption: string; spans: Span[][] } {
  const edits: Array<{ at: number; oldLen: number; newLen: number }> = [];
  const text = caption.replace(/\b(left|right)\b/gi, (word: string, _g: string, at: number) => {
    const swapped = matchCase(word.toLowerCase() === 'left' ? 'right' : 'left', word);
    edits.push({ at, oldLen: word.length, newLen: swapped.length });
    return swapped;
  });
  const move = (pos: number, isEnd: boolean): number => {
    let shift = 0;
    for (const e of edits) {
      if (pos > e.at && pos < e.at + e.oldLen) return e.at + shift + (isEnd ? e.newLen : 0); // inside a swapped word
      if (pos >= e.at + e.oldLen || (isEnd && pos === e.at + e.oldLen)) shift += e.newLen - e.oldLen;
    }
    return pos + shift;
  };
  return { caption: text, spans: spans.map((list) => list.map(([s, e]) => [move(s, false), move(e, true)] as const)) };
}

function matchCase(word: string, like: string): string {
  if (like === like.toUpperCase()) return word.toUpperCase();
  if (like[0] === like[0]?.toUpperCase()) return word[0]?.toUpperCase() + word.slice(1);
  return word;
}

/**
 * A category name as it goes into a detection prompt, cleaned as GLIP's clean_name does:
 * "(...)" removed ("bat (animal)" -> "bat"), "_" -> " ", double spaces collapsed; we also trim
 * the ends, which GLIP leaves (its "bat " would put two spaces before the separator). Case is
 * kept, as GLIP keeps it.
 */
export function cleanCategoryName(name: string): string {
  return name.replace(/\(.*\)/g, '').replace(/_/g, ' ').replace(/ {2}/g, ' ').trim();
}

/** Settings for turning detection labels into a grounding prompt (reference §3.3, GLIP od_to_grounding). */
export interface DetectionPromptConfig {
  /** Negative (absent) categories added to the prompt, at most. @defaultValue 85 */
  readonly maxNegatives: number;
  /** Between category names. @defaultValue '. ' */
  readonly separator: string;
}

export const DEFAULT_DETECTION_PROMPT: DetectionPromptConfig = { maxNegatives: 85, separator: '. ' };

/**
 * "person. car. dog." from a detection sample: the image's categories plus up to maxNegatives
 * sampled absent ones, in a seeded random order; each box gets the span of its category's name.
 * (GLIP additionally varies the mix with CONTROL_PROB; we always use all positives + negatives.)
 */
export function detectionToGrounding(labels: readonly string[], boxes: readonly Box[], categories: readonly string[], rng: Rng, config: DetectionPromptConfig = DEFAULT_DETECTION_PROMPT): { caption: string; boxes: Box[]; spans: Span[][] } {
  const positives = [...new Set(labels)];
  const absent = [...new Set(categories)].filter((c) => !positives.includes(c));
  shuffle(absent, rng);
  const names = [...positives, ...absent.slice(0, config.maxNegatives)];
  shuffle(names, rng);
  const spanOf = new Map<string, Span>();
  let caption = '';
  names.forEach((name, i) => {
    spanOf.set(name, [caption.length, caption.length + name.length]);
    caption += name + (i === names.length - 1 ? config.separator.trimEnd() : config.separator);
  });
  return { caption, boxes: [...boxes], spans: labels.map((l) => [spanOf.get(l) as Span]) };
}

function shuffle<T>(a: T[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
}

/**
 * GLIP's create_positive_map: row m has 1/k at the k tokens whose character span overlaps any span
 * of box m, 0 elsewhere. Boxes whose spans were all truncated away get an all-zero row: callers
 * drop them (GLIP drops positives that overflow the query length).
 * Returns [numBoxes, L] float32.
 */
export function positiveMap(spansPerBox: ReadonlyArray<readonly Span[]>, tokenOffsets: ReadonlyArray<readonly [number, number]>, length: number): Float32Array {
  const out = new Float32Array(spansPerBox.length * length);
  spansPerBox.forEach((spans, m) => {
    const hits: number[] = [];
    tokenOffsets.forEach(([s, e], j) => {
      if (j < length && e > s && spans.some(([a, b]) => s < b && e > a)) hits.push(j);
    });
    for (const j of hits) out[m * length + j] = 1 / hits.length;
  });
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
