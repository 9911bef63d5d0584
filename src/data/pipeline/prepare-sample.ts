import type { BadSampleCounter } from '../bad-sample.js';
import type { DataStageConfig } from './data-stage-config.js';
import { cleanBoxes, detectionToGrounding, swapLeftRight, transformBox, type Box, type Span } from './grounding-targets.js';
import { coarseImage, fineImage, UndecodableImageError, type TransformedImage } from './image-transform.js';
import type { Rng } from './rng.js';
import type { SampleAnnotations } from './sample-annotations.js';
import type { TextTokenizer } from './text-tokenizer.js';

/** One sample, decoded and transformed, ready to collate. */
export interface PreparedSample {
  readonly key: string;
  readonly position: number;
  readonly image: TransformedImage;
  readonly ids: readonly number[];
  readonly special: Uint8Array;
  /** Fine only: boxes in transformed-image pixels and, per box, the token-level spans. */
  readonly boxes: readonly Box[];
  readonly boxSpans: ReadonlyArray<readonly Span[]>;
  readonly tokenOffsets: ReadonlyArray<readonly [number, number]>;
  /** Fine grounding samples that name them (tokens_positive_eval): the phrases eval scores, spans into the final caption. */
  readonly phraseSpans?: ReadonlyArray<readonly Span[]>;
}

/**
 * Decode, transform and tokenize one sample. Random choices come from `rng` in a fixed order
 * (caption, scale, flip, prompt negatives) so they depend only on the rng's seed.
 * Returns undefined, after counting the reason, for bad content.
 */
export async function prepareSample(a: SampleAnnotations, position: number, config: DataStageConfig, tokenizer: TextTokenizer, rng: Rng, bad: BadSampleCounter): Promise<PreparedSample | undefined> {
  const where = { shard: a.shard, key: a.key };
  const captionPick = rng.int(Math.max(1, a.captions.length));
  const scalePick = rng.int(config.fine.minSizes.length);
  const flip = rng.next() < config.fine.flipProbability;
  try {
    if (config.stage === 'coarse') {
      const image = await coarseImage(a.image, config.imageSize, config.normalization);
      const enc = tokenizer.encode(a.captions[captionPick] as string, config.maxTextLen);
      return { key: a.key, position, image, ids: enc.ids, special: enc.special, boxes: [], boxSpans: [], tokenOffsets: enc.offsets };
    }
    const image = await fineImage(a.image, { shortSide: config.fine.minSizes[scalePick] as number, maxSize: config.fine.maxSize }, flip, config.normalization);
    let caption: string;
    let boxes: Box[];
    let spans: Span[][];
    if (a.labels.length > 0 || a.captions.length === 0) {
      ({ caption, boxes, spans } = detectionToGrounding(a.labels, a.boxes, a.categories, rng, config.detectionPrompt));
    } else {
      caption = a.captions[0] as string;
      boxes = [...a.boxes];
      spans = a.tokensPositive.map((s) => [...s]);
    }
    const grounded = cleanBoxes(boxes, spans, image.originalWidth, image.originalHeight, caption.length, where, bad);
    let groundedSpans: Span[][] = grounded.map((g) => [...g.spans]);
    // Eval's phrases keep only spans inside the caption; training never reads them.
    let phraseSpans = a.evalPhrases?.map((p) => p.filter(([s, e]) => s >= 0 && e > s && e <= caption.length)).filter((p) => p.length > 0);
    if (flip && phraseSpans) phraseSpans = swapLeftRight(caption, phraseSpans).spans;
    if (flip) ({ caption, spans: groundedSpans } = swapLeftRight(caption, groundedSpans));
    const enc = tokenizer.encode(caption, config.maxTextLen);
    const sx = image.width / image.originalWidth;
    const sy = image.height / image.originalHeight;
    return {
      key: a.key,
      position,
      image,
      ids: enc.ids,
      special: enc.special,
      boxes: grounded.map((g) => transformBox(g.box, sx, sy, flip ? image.width : undefined)),
      boxSpans: groundedSpans,
      tokenOffsets: enc.offsets,
      ...(phraseSpans ? { phraseSpans } : {}),
    };
  } catch (err) {
    if (err instanceof UndecodableImageError) {
      bad.add({ ...where, reason: 'undecodable_image', detail: err.message });
      return undefined;
    }
    throw err;
  }
}
