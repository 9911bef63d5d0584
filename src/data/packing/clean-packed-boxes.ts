import { BadSampleCounter } from '../bad-sample.js';
import { cleanBoxes, type Box, type GroundedBox, type Span } from '../pipeline/grounding-targets.js';
import type { PackSkips } from './pack-skips.js';

/**
 * The loader's own box and span checks (cleanBoxes), run at pack time against the record's
 * declared width and height, so a shard holds only boxes training can use and the pack report
 * says what was dropped. Boxes come back clipped to the image.
 */
export function cleanPackedBoxes(boxes: readonly Box[], spans: ReadonlyArray<readonly Span[]>, width: number, height: number, captionLength: number, key: string, skips: PackSkips): GroundedBox[] {
  const bad = new BadSampleCounter(undefined, Number.MAX_SAFE_INTEGER);
  const kept = cleanBoxes(boxes, spans, width, height, captionLength, { shard: '', key }, bad);
  for (const r of bad.reports) {
    if (r.reason === 'zero_area_box' || r.reason === 'box_outside_image' || r.reason === 'span_outside_caption') skips.add(r.reason, key, r.detail);
  }
  return kept;
}
