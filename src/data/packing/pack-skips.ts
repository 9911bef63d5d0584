/**
 * Why `fiber data pack` left a record, box or span out. Stable strings, printed and in `--json`.
 * Where a reason also exists at load time (BAD_SAMPLE_REASONS) it has the same name and meaning.
 */
export const PACK_SKIP_REASONS = [
  'missing_image', // the image file named by the record is not there: record skipped
  'empty_caption', // a grounding record without a caption (or a blank one): record skipped
  'malformed_record', // a record or annotation of the wrong shape (no file_name, a bbox that is not 4 numbers, spans that are not [start, end] integers): skipped
  'unknown_image', // an annotation whose image_id names no record: annotation skipped
  'crowd_box', // iscrowd = 1: a region of many objects, not one (MDETR and GLIP drop them too): box skipped
  'unnamed_box', // a grounding box with no tokens_positive span: the caption does not name it: box skipped
  'zero_area_box', // width or height <= 0: box skipped
  'box_outside_image', // nothing of the box left inside the record's width x height: box skipped
  'span_outside_caption', // a tokens_positive span outside the caption: span dropped, the box too if none is left
  'no_boxes', // a record left with no usable box: record skipped
] as const;

export type PackSkipReason = (typeof PACK_SKIP_REASONS)[number];

/** One skipped thing, for the first few examples a user is shown. */
export interface PackSkipExample {
  readonly reason: PackSkipReason;
  /** The record's key (or the annotation's image_id), as the source names it. */
  readonly where: string;
  readonly detail?: string;
}

/** Counts what packing skipped, by reason, and keeps the first `keepExamples` cases to show. */
export class PackSkips {
  readonly counts: Partial<Record<PackSkipReason, number>> = {};
  readonly examples: PackSkipExample[] = [];

  constructor(private readonly keepExamples = 20) {}

  add(reason: PackSkipReason, where: string, detail?: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    if (this.examples.length < this.keepExamples) this.examples.push({ reason, where, ...(detail !== undefined ? { detail } : {}) });
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + (b ?? 0), 0);
  }
}
