import type { BadSampleCounter } from '../bad-sample.js';
import type { RawSample } from '../webdataset/raw-sample.js';

/**
 * What a shard sample says, before any image work. Layouts accepted (webdataset conventions):
 *  - coarse: `key.txt` (one caption) and/or `key.json` {"captions": [...]} or {"caption": "..."};
 *  - fine, grounding (MDETR style): `key.json` {"caption", "boxes": [[x0,y0,x1,y1] px],
 *    "tokens_positive": [[[start, end], ...] per box], "tokens_positive_eval"?: [[[start, end], ...] per phrase]};
 *  - fine, detection: `key.json` {"boxes", "labels": ["person", ...], "categories"?: [all names]},
 *    turned into a category-name prompt by detectionToGrounding.
 */
export interface SampleAnnotations {
  readonly key: string;
  readonly shard: string;
  /** Image member bytes and extension. */
  readonly image: Buffer;
  readonly imageExt: string;
  /** Every caption of the image (coarse: one is drawn per read; fine grounding: exactly one). */
  readonly captions: readonly string[];
  /** [x0, y0, x1, y1] in pixels of the stored image. */
  readonly boxes: ReadonlyArray<readonly [number, number, number, number]>;
  /** Character spans into captions[0] for each box (grounding). */
  readonly tokensPositive: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  /**
   * Grounding only, where the sample says: the phrases evaluation scores, each a list of spans
   * into captions[0] (MDETR's tokens_positive_eval). Training does not read it.
   */
  readonly evalPhrases?: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  /** Category name of each box (detection); empty for grounding. */
  readonly labels: readonly string[];
  /** All category names of the dataset, for negative sampling (detection). */
  readonly categories: readonly string[];
}

const IMAGE_EXTS = ['jpg', 'jpeg', 'png', 'webp'];

/** Parse a raw sample, or count why it is unusable and return undefined. Never throws on content. */
export function parseAnnotations(raw: RawSample, stage: 'coarse' | 'fine', bad: BadSampleCounter): SampleAnnotations | undefined {
  const where = { shard: raw.shard, key: raw.key };
  const imageExt = IMAGE_EXTS.find((e) => raw.files.has(e));
  if (!imageExt) {
    bad.add({ ...where, reason: 'missing_image' });
    return undefined;
  }
  let json: Record<string, unknown> | undefined;
  const jsonBytes = raw.files.get('json');
  if (jsonBytes) {
    try {
      const v: unknown = JSON.parse(jsonBytes.toString('utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      json = v as Record<string, unknown>;
    } catch (err) {
      bad.add({ ...where, reason: 'malformed_json', detail: (err as Error).message });
      return undefined;
    }
  }
  const captions = collectCaptions(raw, json);
  const labels = stringArray(json?.labels);
  const isDetection = stage === 'fine' && labels !== undefined;
  if (!isDetection && captions === undefined) {
    bad.add({ ...where, reason: 'missing_caption' });
    return undefined;
  }
  const nonEmpty = (captions ?? []).filter((c) => c.trim().length > 0);
  if (!isDetection && nonEmpty.length === 0) {
    bad.add({ ...where, reason: 'empty_caption' });
    return undefined;
  }
  const base = { key: raw.key, shard: raw.shard, image: raw.files.get(imageExt) as Buffer, imageExt, categories: stringArray(json?.categories) ?? [] };
  if (stage === 'coarse') return { ...base, captions: nonEmpty, boxes: [], tokensPositive: [], labels: [] };

  const boxes = json?.boxes ?? [];
  if (!Array.isArray(boxes) || !boxes.every(isBox)) {
    bad.add({ ...where, reason: 'malformed_json', detail: 'boxes must be [[x0, y0, x1, y1], ...]' });
    return undefined;
  }
  if (isDetection) {
    if (labels.length !== boxes.length) {
      bad.add({ ...where, reason: 'malformed_json', detail: 'labels and boxes differ in length' });
      return undefined;
    }
    return { ...base, captions: [], boxes, tokensPositive: [], labels };
  }
  const spans = json?.tokens_positive ?? boxes.map(() => []);
  if (!Array.isArray(spans) || spans.length !== boxes.length || !spans.every((s) => Array.isArray(s) && s.every(isSpan))) {
    bad.add({ ...where, reason: 'malformed_json', detail: 'tokens_positive must be [[[start, end], ...] per box]' });
    return undefined;
  }
  const evalPhrases = json?.tokens_positive_eval;
  if (evalPhrases !== undefined && !(Array.isArray(evalPhrases) && evalPhrases.every((p) => Array.isArray(p) && p.every(isSpan)))) {
    bad.add({ ...where, reason: 'malformed_json', detail: 'tokens_positive_eval must be [[[start, end], ...] per phrase]' });
    return undefined;
  }
  // Grounding uses one caption: the one the spans refer to.
  return {
    ...base, captions: [nonEmpty[0] as string], boxes, tokensPositive: spans as Array<Array<[number, number]>>, labels: [],
    ...(evalPhrases !== undefined ? { evalPhrases: evalPhrases as Array<Array<[number, number]>> } : {}),
  };
}

function collectCaptions(raw: RawSample, json: Record<string, unknown> | undefined): string[] | undefined {
  const list = stringArray(json?.captions);
  if (list) return list;
  if (typeof json?.caption === 'string') return [json.caption];
  const txt = raw.files.get('txt');
  if (txt) return [txt.toString('utf8')];
  return undefined;
}

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

function isBox(b: unknown): b is [number, number, number, number] {
  return Array.isArray(b) && b.length === 4 && b.every((x) => typeof x === 'number' && Number.isFinite(x));
}

function isSpan(s: unknown): s is [number, number] {
  return Array.isArray(s) && s.length === 2 && s.every((x) => Number.isInteger(x));
}
