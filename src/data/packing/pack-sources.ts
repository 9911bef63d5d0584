import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { UsageError } from '../../errors/index.js';
import type { PackSkips } from './pack-skips.js';
import { readDetectionInput } from './read-detection-input.js';
import { readJsonArrays } from './read-json-arrays.js';

/**
 * Readers that turn standard annotation files into the samples `fiber data pack` writes. Each
 * yields PackedSample records; images are referenced by path and read only when written.
 */

type Xyxy = [number, number, number, number];

/** One sample to write: key, image file, and the JSON/text members. */
export interface PackedSample {
  readonly key: string;
  readonly imagePath: string;
  /** Written as key.json. */
  readonly json: Record<string, unknown>;
  /** Written as key.txt when set (webdataset readers that only know .txt see a caption). */
  readonly txt?: string;
}

/** Coarse and fine samples from one source. */
export interface PackInput {
  readonly coarse: PackedSample[];
  readonly fine: PackedSample[];
  /** Records, boxes and spans the reader left out, by reason (readers that validate). */
  readonly skipped?: PackSkips;
}

const xywhToXyxy = ([x, y, w, h]: number[]): Xyxy => [x ?? 0, y ?? 0, (x ?? 0) + (w ?? 0), (y ?? 0) + (h ?? 0)];

/**
 * COCO 2017 captions (+ optional instances) JSON files: coarse samples from the captions, fine
 * detection samples from the instances (readDetectionInput).
 */
export async function readCocoInput(imagesDir: string, captionsPath: string, instancesPath?: string): Promise<PackInput> {
  const captions = (await readJsonArrays(captionsPath, '--captions', ['images', 'annotations'])) as unknown as { images: CocoImage[]; annotations: Array<{ image_id: number; caption: string }> };
  const byImage = new Map<number, string[]>();
  for (const a of captions.annotations) if (typeof a?.caption === 'string') byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a.caption.trim()]);
  const coarse = captions.images
    .filter((im) => byImage.has(im.id))
    .map((im) => ({ key: cocoKey(im.id), imagePath: join(imagesDir, im.file_name), json: { image_id: im.id, width: im.width, height: im.height, captions: byImage.get(im.id) }, txt: byImage.get(im.id)?.[0] }));
  if (!instancesPath) return { coarse, fine: [] };
  const { fine, skipped } = await readDetectionInput(imagesDir, instancesPath);
  return { coarse, fine, ...(skipped ? { skipped } : {}) };
}

interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

/** One line of coco-dev's annotations.jsonl. */
interface CocoDevLine {
  image_id: number;
  file: string;
  width: number;
  height: number;
  captions: string[];
  boxes: Array<{ category: string; bbox_xywh: number[]; iscrowd: number }> | null;
  phrase_links?: Array<{ caption: string; phrases: Array<{ span: [number, number]; category: string; boxes_xywh: number[][] }> }>;
}

/**
 * coco-dev's annotations.jsonl. Coarse: one sample per image with all captions. Fine: one
 * grounding sample per caption that has phrase links (boxes with the caption spans that name
 * them, MDETR style), or, for an image with boxes but no linked phrase, one detection sample
 * (category prompt at load time).
 */
export async function readCocoDevInput(imagesDir: string, annotationsPath: string, categories?: readonly string[]): Promise<PackInput> {
  const text = await readFile(annotationsPath, 'utf8').catch((err: unknown) => {
    throw new UsageError(`cannot read --annotations ${annotationsPath}: ${(err as Error).message}`);
  });
  const lines = text.split('\n').filter((l) => l.trim());
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as CocoDevLine;
    } catch {
      throw new UsageError(`${annotationsPath}:${i + 1} is not valid JSON`);
    }
  });
  const allCategories = categories ?? [...new Set(parsed.flatMap((p) => (p.boxes ?? []).map((b) => b.category)))].sort();
  const coarse: PackedSample[] = [];
  const fine: PackedSample[] = [];
  for (const p of parsed) {
    const imagePath = join(imagesDir, basename(p.file));
    const key = cocoKey(p.image_id);
    coarse.push({ key, imagePath, json: { image_id: p.image_id, width: p.width, height: p.height, captions: p.captions }, txt: p.captions[0] });
    if (!p.boxes?.length) continue;
    const linked = (p.phrase_links ?? []).filter((l) => l.phrases.length > 0);
    linked.forEach((link, k) => {
      const boxes: Xyxy[] = [];
      const spans: Array<Array<[number, number]>> = [];
      const indexOf = new Map<string, number>();
      for (const ph of link.phrases) {
        for (const b of ph.boxes_xywh) {
          const id = b.join(',');
          let i = indexOf.get(id);
          if (i === undefined) {
            i = boxes.length;
            indexOf.set(id, i);
            boxes.push(xywhToXyxy(b));
            spans.push([]);
          }
          spans[i]?.push(ph.span);
        }
      }
      fine.push({ key: `${key}_${k}`, imagePath, json: { image_id: p.image_id, width: p.width, height: p.height, caption: link.caption, boxes, tokens_positive: spans } });
    });
    if (linked.length === 0) {
      const boxes = p.boxes.filter((b) => !b.iscrowd);
      fine.push({ key, imagePath, json: { image_id: p.image_id, width: p.width, height: p.height, boxes: boxes.map((b) => xywhToXyxy(b.bbox_xywh)), labels: boxes.map((b) => b.category), categories: allCategories } });
    }
  }
  return { coarse, fine };
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** A folder of `name.jpg` + `name.txt` pairs (coarse only). Images without a .txt are skipped. */
export async function readFolderInput(dir: string): Promise<PackInput> {
  const names = (await readdir(dir)).sort();
  const present = new Set(names);
  const coarse: PackedSample[] = [];
  for (const n of names) {
    const ext = extname(n).toLowerCase();
    if (!IMAGE_EXT.has(ext)) continue;
    const stem = n.slice(0, -ext.length);
    if (!present.has(`${stem}.txt`)) continue;
    const caption = (await readFile(join(dir, `${stem}.txt`), 'utf8')).trim();
    coarse.push({ key: stem.replace(/\./g, '_'), imagePath: join(dir, n), json: { captions: [caption] }, txt: caption });
  }
  return { coarse, fine: [] };
}

function cocoKey(id: number): string {
  return String(id).padStart(12, '0');
}
