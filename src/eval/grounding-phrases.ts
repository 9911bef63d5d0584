import { positiveMap, type Span } from '../data/pipeline/grounding-targets.js';
import type { Box } from './box-iou.js';

/*
 * The unit of phrase-grounding evaluation: a phrase of the caption (a character span) with every
 * ground-truth box it names and the query tokens that spell it. The data layer stores the
 * opposite direction (boxes, each with the spans naming it, MDETR's tokens_positive), so a phrase
 * naming two boxes ("two dogs") appears under both, and a box named twice ("the stove ... the
 * oven") under two phrases; here each distinct span becomes one phrase.
 */

export interface GroundingPhrase {
  /** [start, end) characters of the caption. */
  readonly span: Span;
  /** Positions in the padded query (0 = `<s>`) of the tokens overlapping the span, ascending. */
  readonly tokens: readonly number[];
  /** Every ground-truth box the phrase names, (x0, y0, x1, y1) in model-input pixels. */
  readonly boxes: readonly Box[];
}

/**
 * Phrases of one sample, in order of first appearance. boxes [M], boxSpans [M][spans],
 * tokenOffsets [tokens] as the tokenizer gives them, L the query length. A phrase whose tokens
 * were all truncated away is not evaluated and is counted in `truncated` (GLIP drops such
 * positives in training too; they could never be found).
 */
export function groundingPhrases(boxes: readonly Box[], boxSpans: ReadonlyArray<readonly Span[]>, tokenOffsets: ReadonlyArray<readonly [number, number]>, length: number): { phrases: GroundingPhrase[]; truncated: number } {
  const bySpan = new Map<string, { span: Span; boxes: Box[] }>();
  boxSpans.forEach((spans, m) => {
    for (const span of spans) {
      const id = `${span[0]}:${span[1]}`;
      let p = bySpan.get(id);
      if (!p) bySpan.set(id, (p = { span, boxes: [] }));
      if (!p.boxes.includes(boxes[m]!)) p.boxes.push(boxes[m]!);
    }
  });
  const phrases: GroundingPhrase[] = [];
  let truncated = 0;
  for (const { span, boxes: phraseBoxes } of bySpan.values()) {
    // GLIP's create_positive_map on a single span: > 0 exactly at the overlapping tokens.
    const row = positiveMap([[span]], tokenOffsets, length);
    const tokens: number[] = [];
    row.forEach((v, j) => {
      if (v > 0) tokens.push(j);
    });
    if (tokens.length === 0) truncated++;
    else phrases.push({ span, tokens, boxes: phraseBoxes });
  }
  return { phrases, truncated };
}
