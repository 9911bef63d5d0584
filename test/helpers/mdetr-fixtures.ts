import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/*
 * MDETR-format and COCO-instances annotation files made from coco-dev (real photos, real
 * captions, real boxes), written to a temporary folder: the photos stay in ../shared/data/coco-dev.
 */

interface CocoDevLine {
  image_id: number;
  file: string;
  width: number;
  height: number;
  boxes: Array<{ category: string; bbox_xywh: number[]; iscrowd: number }> | null;
  phrase_links?: Array<{ caption: string; phrases: Array<{ span: [number, number]; text: string; category: string; boxes_xywh: number[][] }> }>;
}

type Span = [number, number];

/** One good MDETR record as the fixture wrote it, for checking what comes back. */
export interface FixtureRecord {
  readonly id: number;
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly caption: string;
  /** Boxes that must survive packing, [x, y, w, h], each with its spans, in annotation order. */
  readonly boxes: ReadonlyArray<{ readonly xywh: readonly number[]; readonly spans: readonly Span[] }>;
  /** The phrases eval scores. */
  readonly phrases: number;
}

export interface MdetrFixture {
  /** MDETR json: Flickr30k-style records (separateGT, tokens_positive_eval), RefCOCO-style ones and broken ones. */
  readonly mdetr: string;
  /** COCO-format instances json (with a category name to clean). */
  readonly instances: string;
  readonly images: string;
  /** The records that must come out of packing. */
  readonly good: readonly FixtureRecord[];
  /** What packing must report, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Detection: images with boxes, crowd boxes among them, every category name after cleaning. */
  readonly detection: { readonly images: number; readonly crowd: number; readonly categories: readonly string[] };
}

/**
 * From the first `count` coco-dev images with phrase links: per image its first two linked
 * captions as Flickr30k-style records (one annotation per box with every span naming it, one
 * tokens_positive_eval entry per phrase), and one RefCOCO-style record ("the big <category>": one
 * box, the two head-word spans, no tokens_positive_eval). Then one record of each kind of bad
 * input: a box outside the image (its only box), a span past the caption's end (beside a good
 * box), a missing image file, a crowd box, an annotation naming no record.
 */
export async function writeMdetrFixture(cocoDir: string, out: string, count: number): Promise<MdetrFixture> {
  const lines = (await readFile(join(cocoDir, 'annotations.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as CocoDevLine);
  const linked = lines.filter((l) => l.boxes?.length && l.phrase_links?.some((p) => p.phrases.length)).slice(0, count);
  const images: unknown[] = [];
  const annotations: unknown[] = [];
  const good: FixtureRecord[] = [];
  let id = 100;
  const add = (l: CocoDevLine, caption: string, boxes: Array<{ xywh: number[]; spans: Span[] }>, extra: Record<string, unknown>): number => {
    images.push({ id, file_name: basename(l.file), height: l.height, width: l.width, caption, original_img_id: l.image_id, ...extra });
    for (const b of boxes) annotations.push({ id: annotations.length + 1, image_id: id, bbox: b.xywh, tokens_positive: b.spans, category_id: 1, iscrowd: 0, area: (b.xywh[2] ?? 0) * (b.xywh[3] ?? 0) });
    return id++;
  };
  for (const l of linked) {
    (l.phrase_links ?? []).filter((p) => p.phrases.length).slice(0, 2).forEach((link, sentence) => {
      // separateGT: every box its own annotation; a phrase naming three people gives three boxes with the same span.
      const byBox = new Map<string, { xywh: number[]; spans: Span[] }>();
      for (const ph of link.phrases) for (const b of ph.boxes_xywh) {
        const k = b.join(',');
        if (!byBox.has(k)) byBox.set(k, { xywh: b, spans: [] });
        byBox.get(k)!.spans.push(ph.span);
      }
      const boxes = [...byBox.values()];
      const phrases = link.phrases.map((p) => [p.span]);
      const rid = add(l, link.caption, boxes, { dataset_name: 'flickr', sentence_id: sentence, tokens_positive_eval: phrases, tokens_negative: [[0, link.caption.length]] });
      good.push({ id: rid, file: basename(l.file), width: l.width, height: l.height, caption: link.caption, boxes, phrases: phrases.length });
    });
    const target = l.boxes![0]!;
    const caption = `the big ${target.category}`;
    const boxes = [{ xywh: target.bbox_xywh, spans: [[4, 7], [8, caption.length]] as Span[] }];
    const rid = add(l, caption, boxes, { dataset_name: 'refcoco', sentence_id: 0, tokens_negative: [[0, 3]] });
    good.push({ id: rid, file: basename(l.file), width: l.width, height: l.height, caption, boxes, phrases: 1 });
  }
  const l = linked[0]!;
  const box = l.boxes![0]!.bbox_xywh;
  // Bad input, each counted once by reason.
  add(l, 'a box beside the picture', [{ xywh: [l.width + 10, 5, 20, 20], spans: [[2, 5]] }], {}); // box_outside_image, then no_boxes
  const spanRecord = { xywh: box, spans: [[0, 5]] as Span[] };
  const rid = add(l, 'thing and more', [spanRecord, { xywh: [1, 1, 10, 10], spans: [[9, 40]] }], {}); // span_outside_caption: second box dropped
  good.push({ id: rid, file: basename(l.file), width: l.width, height: l.height, caption: 'thing and more', boxes: [spanRecord], phrases: 1 });
  images.push({ id: id++, file_name: 'not-there.jpg', height: 10, width: 10, caption: 'a lost photo' });
  annotations.push({ id: 9000, image_id: id - 1, bbox: [0, 0, 5, 5], tokens_positive: [[2, 6]], category_id: 1 }); // missing_image
  annotations.push({ id: 9001, image_id: rid, bbox: [0, 0, 50, 50], tokens_positive: [[0, 5]], category_id: 1, iscrowd: 1 }); // crowd_box
  annotations.push({ id: 9002, image_id: 999_999, bbox: [0, 0, 5, 5], tokens_positive: [[0, 1]], category_id: 1 }); // unknown_image
  const mdetr = join(out, 'final_mixed_fixture.json');
  await writeFile(mdetr, JSON.stringify({ info: [], licenses: [], images, annotations, categories: [{ supercategory: 'object', id: 1, name: 'object' }] }));

  // COCO instances of the same images; "baseball_bat (sports)" must come out as "baseball bat".
  const names = [...new Set(linked.flatMap((x) => x.boxes!.map((b) => b.category))), 'baseball_bat (sports)'];
  const instances = join(out, 'instances_fixture.json');
  await writeFile(instances, JSON.stringify({
    images: linked.map((x) => ({ id: x.image_id, file_name: basename(x.file), width: x.width, height: x.height })),
    categories: names.map((name, i) => ({ id: i + 1, name })),
    annotations: linked.flatMap((x) => x.boxes!.map((b, i) => ({ id: x.image_id * 100 + i, image_id: x.image_id, bbox: b.bbox_xywh, category_id: names.indexOf(b.category) + 1, iscrowd: b.iscrowd }))),
  }));
  const crowd = linked.flatMap((x) => x.boxes!.filter((b) => b.iscrowd)).length;
  return {
    mdetr, instances, images: join(cocoDir, 'images'), good,
    skipped: { box_outside_image: 1, no_boxes: 1, span_outside_caption: 1, missing_image: 1, crowd_box: 1, unknown_image: 1 },
    detection: { images: linked.length, crowd, categories: names.map((n) => n.replace(/\(.*\)/, '').replace(/_/g, ' ').trim()) },
  };
}
