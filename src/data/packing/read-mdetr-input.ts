import { join } from 'node:path';
import type { Box, Span } from '../pipeline/grounding-targets.js';
import { cleanPackedBoxes } from './clean-packed-boxes.js';
import type { PackedSample, PackInput } from './pack-sources.js';
import { readJsonArrays } from './read-json-arrays.js';
import { PackSkips } from './pack-skips.js';

/*
 * MDETR's COCO-format grounding annotations (final_mixed_train_no_coco.json,
 * final_flickr_separateGT_*.json, finetune_refcoco_*.json, ...): one `images[]` entry per
 * image-caption pair, `annotations[]` with a box each and the caption spans naming it.
 */

interface MdetrRecord {
  id?: unknown;
  file_name?: unknown;
  width?: unknown;
  height?: unknown;
  caption?: unknown;
  /** Flickr30k: the phrases evaluation scores, each a list of spans (one per phrase mention). */
  tokens_positive_eval?: unknown;
  /** final_mixed_*: 'coco' or 'vg', which image folder the file is in. */
  data_source?: unknown;
  dataset_name?: unknown;
  sentence_id?: unknown;
  original_img_id?: unknown;
}

interface MdetrAnnotation {
  image_id?: unknown;
  bbox?: unknown;
  tokens_positive?: unknown;
  iscrowd?: unknown;
}

export interface MdetrInputOptions {
  /** Folder of records whose `data_source` is "vg" (MDETR's final_mixed_*). @defaultValue the images folder */
  readonly vgImagesDir?: string;
}

/**
 * One fine grounding sample per image-caption record: the caption, its boxes ([x, y, w, h] ->
 * [x0, y0, x1, y1], clipped to the record's width x height) each with its `tokens_positive`
 * spans, and `tokens_positive_eval`, the phrases evaluation scores. Flickr30k files carry those
 * (one per phrase mention); otherwise each distinct span list of a box is one phrase, which makes
 * a RefCOCO record (one box, the expression's head-word spans) one referring expression.
 * Separate boxes of one phrase (Flickr30k separateGT) stay separate boxes with the same spans.
 * Invalid records, boxes and spans are skipped and counted in `skipped`, never thrown.
 */
export async function readMdetrInput(imagesDir: string, annotationsPath: string, opts: MdetrInputOptions = {}): Promise<PackInput> {
  const json = await readJsonArrays(annotationsPath, '--annotations', ['images', 'annotations']);
  const records = json.images as MdetrRecord[];
  const annotations = json.annotations as MdetrAnnotation[];
  const skipped = new PackSkips();

  const byRecord = new Map<number, MdetrAnnotation[]>();
  for (const r of records) if (isId(r?.id)) byRecord.set(r.id, []);
  for (const a of annotations) {
    if (!isId(a?.image_id) || !byRecord.has(a.image_id)) {
      skipped.add('unknown_image', String(a?.image_id), 'annotation for no record of images[]');
      continue;
    }
    byRecord.get(a.image_id)?.push(a);
  }

  const fine: PackedSample[] = [];
  const seen = new Set<number>();
  for (const r of records) {
    const where = isId(r?.id) ? key(r.id) : String(r?.id);
    if (!isId(r?.id) || typeof r.file_name !== 'string' || !r.file_name || !isSize(r.width) || !isSize(r.height) || seen.has(r.id)) {
      skipped.add('malformed_record', where, 'needs an integer id (unique), file_name, width and height');
      continue;
    }
    seen.add(r.id);
    if (typeof r.caption !== 'string' || r.caption.trim() === '') {
      skipped.add('empty_caption', where);
      continue;
    }
    const boxes: Box[] = [];
    const spans: Span[][] = [];
    for (const a of byRecord.get(r.id) ?? []) {
      if (!isXywh(a.bbox) || !isSpanList(a.tokens_positive)) {
        skipped.add('malformed_record', where, 'annotation needs bbox [x, y, w, h] and tokens_positive [[start, end], ...]');
        continue;
      }
      if (a.iscrowd === 1 || a.iscrowd === true) {
        skipped.add('crowd_box', where);
        continue;
      }
      if (a.tokens_positive.length === 0) {
        skipped.add('unnamed_box', where);
        continue;
      }
      const [x, y, w, h] = a.bbox;
      boxes.push([x, y, x + w, y + h]);
      spans.push(a.tokens_positive);
    }
    const grounded = cleanPackedBoxes(boxes, spans, r.width, r.height, r.caption.length, where, skipped);
    if (grounded.length === 0) {
      skipped.add('no_boxes', where);
      continue;
    }
    const dir = r.data_source === 'vg' && opts.vgImagesDir ? opts.vgImagesDir : imagesDir;
    fine.push({
      key: where,
      imagePath: join(dir, r.file_name),
      json: {
        image_id: r.id, width: r.width, height: r.height, caption: r.caption,
        boxes: grounded.map((g) => g.box), tokens_positive: grounded.map((g) => g.spans),
        tokens_positive_eval: evalPhrases(r, grounded.map((g) => g.spans), where, skipped),
        ...extras(r),
      },
    });
  }
  return { coarse: [], fine, skipped };
}

/** The record's own `tokens_positive_eval` (spans inside the caption), else (counted if malformed) each distinct span list of its boxes. */
function evalPhrases(r: MdetrRecord, boxSpans: ReadonlyArray<readonly Span[]>, where: string, skipped: PackSkips): Span[][] {
  const length = (r.caption as string).length;
  if (Array.isArray(r.tokens_positive_eval) && r.tokens_positive_eval.every(isSpanList)) {
    const phrases: Span[][] = [];
    for (const p of r.tokens_positive_eval) {
      const inside = p.filter(([s, e]) => s >= 0 && e > s && e <= length);
      if (inside.length < p.length) skipped.add('span_outside_caption', where, 'tokens_positive_eval');
      if (inside.length) phrases.push(inside);
    }
    return phrases;
  }
  if (r.tokens_positive_eval !== undefined) skipped.add('malformed_record', where, 'tokens_positive_eval is not [[[start, end], ...] per phrase]: derived from the boxes instead');
  const byId = new Map<string, Span[]>();
  for (const list of boxSpans) {
    const id = JSON.stringify(list);
    if (!byId.has(id)) byId.set(id, [...list]);
  }
  return [...byId.values()];
}

/** Provenance fields kept as given (the loader ignores them). */
function extras(r: MdetrRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of ['dataset_name', 'sentence_id', 'original_img_id', 'data_source'] as const) {
    const v = r[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = v;
  }
  return out;
}

function key(id: number): string {
  return String(id).padStart(12, '0');
}

function isId(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

function isXywh(v: unknown): v is [number, number, number, number] {
  return Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

function isSpanList(v: unknown): v is Array<[number, number]> {
  return Array.isArray(v) && v.every((s) => Array.isArray(s) && s.length === 2 && s.every((x) => Number.isInteger(x)));
}
