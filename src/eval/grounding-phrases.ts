import { positiveMap, type Span } from '../data/pipeline/grounding-targets.js';
import type { Box } from './box-iou.js';

/*
 * The unit of phrase-grounding evaluation: a phrase of the caption (one or more character spans)
 * with every ground-truth box it names and the query tokens that spell it. The data layer stores
 * the opposite direction (boxes, each with the spans naming it, MDETR's tokens_positive), so a
 * phrase naming two boxes ("two dogs") appears under both, and a box named twice ("the stove ...
 * the oven") under two phrases.
 */

export interface GroundingPhrase {
  /** [start, end) characters of the caption; one span, or several for an eval phrase that lists them. */
  readonly spans: readonly Span[];
  /** Positions in the padded query (0 = `<s>`) of the tokens overlapping the spans, ascending. */
  readonly tokens: readonly number[];
  /** Every ground-truth box the phrase names, (x0, y0, x1, y1) in model-input pixels. */
  readonly boxes: readonly Box[];
}

/**
 * Phrases of one sample, in order of first appearance. boxes [M], boxSpans [M][spans],
 * tokenOffsets [tokens] as the tokenizer gives them, L the query length.
 *  - Without `phraseSpans`, each distinct span is a phrase, with every box that lists it.
 *  - With `phraseSpans` (the sample's tokens_positive_eval: Flickr30k's phrase mentions, or the
 *    span list of a RefCOCO expression), each entry is a phrase, with every box one of whose spans
 *    overlaps one of the phrase's; a phrase that names no box is counted in `noBox`.
 * A phrase whose tokens were all truncated away is not evaluated and is counted in `truncated`
 * (GLIP drops such positives in training too; they could never be found).
 */
export function groundingPhrases(boxes: readonly Box[], boxSpans: ReadonlyArray<readonly Span[]>, tokenOffsets: ReadonlyArray<readonly [number, number]>, length: number, phraseSpans?: ReadonlyArray<readonly Span[]>): { phrases: GroundingPhrase[]; truncated: number; noBox: number } {
  const candidates: Array<{ spans: readonly Span[]; boxes: Box[] }> = [];
  if (phraseSpans) {
    const overlaps = (a: Span, b: Span): boolean => a[0] < b[1] && b[0] < a[1];
    for (const spans of phraseSpans) {
      candidates.push({ spans, boxes: boxes.filter((_, m) => (boxSpans[m] ?? []).some((s) => spans.some((p) => overlaps(s, p)))) });
    }
  } else {
    const bySpan = new Map<string, { spans: Span[]; boxes: Box[] }>();
    boxSpans.forEach((spans, m) => {
      for (const span of spans) {
        const id = `${span[0]}:${span[1]}`;
        let p = bySpan.get(id);
        if (!p) bySpan.set(id, (p = { spans: [span], boxes: [] }));
        if (!p.boxes.includes(boxes[m]!)) p.boxes.push(boxes[m]!);
      }
    });
    candidates.push(...bySpan.values());
  }
  const phrases: GroundingPhrase[] = [];
  let truncated = 0, noBox = 0;
  for (const { spans, boxes: phraseBoxes } of candidates) {
    if (phraseBoxes.length === 0) {
      noBox++;
      continue;
    }
    // GLIP's create_positive_map on the phrase's spans: > 0 exactly at the overlapping tokens.
    const row = positiveMap([spans], tokenOffsets, length);
    const tokens: number[] = [];
    row.forEach((v, j) => {
      if (v > 0) tokens.push(j);
    });
    if (tokens.length === 0) truncated++;
    else phrases.push({ spans, tokens, boxes: phraseBoxes });
  }
  return { phrases, truncated, noBox };
}
