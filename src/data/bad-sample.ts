import type { Logger } from '../log/logger.js';

/**
 * Why a sample (or one of its boxes / spans) was skipped. Stable strings: they are counted per
 * stage, shown by `fiber status` and printed by `fiber data verify`.
 */
export const BAD_SAMPLE_REASONS = [
  'corrupt_tar', // header checksum or size field damaged: the rest of the shard (or range) is skipped
  'truncated_tar', // the archive or ranged read ends inside a member
  'duplicate_member', // two members with the same key and extension
  'missing_image', // no .jpg/.jpeg/.png/.webp member
  'undecodable_image', // the image bytes do not decode (truncated, flipped bytes, wrong format)
  'missing_caption', // no .txt and no caption in .json
  'empty_caption', // the caption is blank
  'malformed_json', // .json does not parse or has the wrong shape
  'box_outside_image', // a box lies (after clipping) outside the image: the box is dropped
  'zero_area_box', // a box has no area: the box is dropped
  'span_outside_caption', // a tokens_positive span is outside the caption: the span is dropped
  'missing_from_shard', // the index names a key that the ranged read did not contain (stale index)
  'checksum_mismatch', // the sample's bytes differ from the CRC-32 in the index (bit rot, a replaced shard)
] as const;

export type BadSampleReason = (typeof BAD_SAMPLE_REASONS)[number];

/** One skipped thing, with where it came from. */
export interface BadSampleReport {
  readonly reason: BadSampleReason;
  readonly shard: string;
  readonly key: string;
  readonly detail?: string;
}

/** Counts skips by reason and logs each one with shard and key (never fatal). */
export class BadSampleCounter {
  readonly counts: Record<BadSampleReason, number> = Object.fromEntries(BAD_SAMPLE_REASONS.map((r) => [r, 0])) as Record<BadSampleReason, number>;
  readonly reports: BadSampleReport[] = [];

  constructor(private readonly log?: Logger, private readonly keepReports = 1000) {}

  add(report: BadSampleReport): void {
    this.counts[report.reason]++;
    if (this.reports.length < this.keepReports) this.reports.push(report);
    this.log?.warn({ reason: report.reason, shard: report.shard, key: report.key, detail: report.detail }, 'skipped bad input');
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** Only the non-zero counts, for compact logs and status. */
  nonZero(): Partial<Record<BadSampleReason, number>> {
    return Object.fromEntries(Object.entries(this.counts).filter(([, n]) => n > 0));
  }
}
