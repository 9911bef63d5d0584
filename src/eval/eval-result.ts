import type { EvalTask } from '../queue/eval-job.js';

/**
 * Why eval left something out, beyond the data layer's bad-sample reasons (BAD_SAMPLE_REASONS),
 * which are reported under the same `skipped` map. Stable strings.
 */
export const EVAL_SKIP_REASONS = [
  'not_grounding', // grounding: a detection sample (labels, no caption): scored by AP, not by phrase accuracy
  'no_phrases', // grounding: a sample left with no box and phrase to ground after cleaning
  'phrase_truncated', // grounding: a phrase whose tokens fall beyond data.fine.maxTextLen (one count per phrase)
  'phrase_no_box', // grounding: a phrase of tokens_positive_eval that names no box left after cleaning (one count per phrase)
] as const;
export type EvalSkipReason = (typeof EVAL_SKIP_REASONS)[number];

/**
 * One evaluation, as `fiber eval --json` prints it and the demo and the coordinator record it.
 * Every score and chance value is a fraction in [0, 1].
 *
 * retrieval scores (and chance, same keys): i2t_r1, i2t_r5, i2t_r10 (image->text, the reference's
 * TR@K), t2i_r1, t2i_r5, t2i_r10 (text->image, IR@K), r_mean (mean of the six); with --rerank K
 * also the same keys prefixed `itm_` after ITM re-ranking of each query's ITC top K.
 * grounding scores: acc@0.5 (top-1 accuracy per phrase; a RefCOCO record is one phrase), R@1, R@5,
 * R@10 (Flickr30k "any box" recall per phrase; R@1 = acc@0.5), chance for each of these,
 * oracle@0.5 (no chance counterpart).
 */
export interface EvalResult {
  readonly task: EvalTask;
  /** The checkpoint URI as given. */
  readonly checkpoint: string;
  /** Where the weights were read: the step directory (a stage directory resolves through `latest`) or the file. */
  readonly resolved: string;
  readonly stage: 'coarse' | 'fine';
  /** Optimizer steps of the checkpoint; null for a .safetensors file with no manifest beside it. */
  readonly step: number | null;
  /** Model preset of the run config used. */
  readonly preset: string;
  /** retrieval: image-caption pairs (one caption per image); grounding: phrases. */
  readonly n: number;
  /** Samples evaluated: retrieval n; grounding the captions (with their image) that had a phrase to ground. */
  readonly samples: number;
  /** Grounding: distinct images (by content) among those samples; several captions may share one. */
  readonly images?: number;
  readonly scores: Record<string, number>;
  readonly chance: Record<string, number>;
  /** What was left out, by reason (bad-sample reasons and EVAL_SKIP_REASONS); only non-zero counts. */
  readonly skipped: Record<string, number>;
  /** ITM shortlist size actually used (capped at n), or null without --rerank. */
  readonly rerank: number | null;
  /** Wall time of the whole evaluation, loading included. */
  readonly seconds: number;
}

/** Progress for a caller's display; `phase` says which pass `done` counts. */
export interface EvalProgress {
  readonly phase: 'encode' | 'rerank' | 'ground';
  /** Samples (encode, ground) or image-text pairs (rerank) done so far. */
  readonly done: number;
  /** Known total, when it is (rerank). */
  readonly total?: number;
}

export type EvalProgressFn = (p: EvalProgress) => void;
