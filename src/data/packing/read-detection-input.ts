import { join } from 'node:path';
import { cleanCategoryName, type Box } from '../pipeline/grounding-targets.js';
import { cleanPackedBoxes } from './clean-packed-boxes.js';
import type { PackedSample, PackInput } from './pack-sources.js';
import { PackSkips } from './pack-skips.js';
import { readJsonArrays } from './read-json-arrays.js';

/*
 * COCO-format instance annotations (COCO instances_*.json, Objects365, LVIS-style files):
 * `images[]`, `annotations[]` with `bbox` [x, y, w, h] and `category_id`, `categories[]` with
 * `id` and `name`.
 */

interface InstancesFile {
  images: Array<{ id?: unknown; file_name?: unknown; width?: unknown; height?: unknown }>;
  annotations: Array<{ image_id?: unknown; bbox?: unknown; category_id?: unknown; iscrowd?: unknown }>;
  categories: Array<{ id?: unknown; name?: unknown }>;
}

/**
 * One fine detection sample per image with at least one usable box: `boxes` ([x0, y0, x1, y1],
 * clipped to the image), `labels` (the box's category name) and `categories` (every name of the
 * file), names cleaned as GLIP cleans them. The loader turns each into a category-name prompt
 * with sampled negatives (detectionToGrounding). Crowd boxes, bad boxes and annotations naming
 * no image or category are skipped and counted in `skipped`.
 */
export async function readDetectionInput(imagesDir: string, instancesPath: string, flag = '--instances'): Promise<PackInput> {
  const inst = (await readJsonArrays(instancesPath, flag, ['images', 'annotations', 'categories'])) as unknown as InstancesFile;
  const skipped = new PackSkips();
  const names = new Map<unknown, string>();
  for (const c of inst.categories) if (typeof c?.name === 'string' && cleanCategoryName(c.name)) names.set(c.id, cleanCategoryName(c.name));
  const categories = [...new Set(names.values())];

  const byImage = new Map<unknown, Array<{ box: Box; label: string }>>();
  for (const im of inst.images) byImage.set(im?.id, []);
  for (const a of inst.annotations) {
    const where = String(a?.image_id);
    const list = byImage.get(a?.image_id);
    if (!list) {
      skipped.add('unknown_image', where, 'annotation for no entry of images[]');
      continue;
    }
    const label = names.get(a.category_id);
    const b = a.bbox;
    if (label === undefined || !Array.isArray(b) || b.length !== 4 || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      skipped.add('malformed_record', where, 'annotation needs bbox [x, y, w, h] and a category_id of categories[]');
      continue;
    }
    if (a.iscrowd === 1 || a.iscrowd === true) {
      skipped.add('crowd_box', where); // a region of many objects, not one (GLIP ignores them too)
      continue;
    }
    const [x, y, w, h] = b as number[];
    list.push({ box: [x!, y!, x! + w!, y! + h!], label });
  }

  const fine: PackedSample[] = [];
  for (const im of inst.images) {
    const where = String(im?.id);
    if (typeof im?.file_name !== 'string' || !im.file_name || !isSize(im.width) || !isSize(im.height)) {
      skipped.add('malformed_record', where, 'an image needs file_name, width and height');
      continue;
    }
    const list = byImage.get(im.id) ?? [];
    // Detection boxes are named by their label in the prompt built at load time, not by a span:
    // the placeholder span [i, i + 1] only carries box i's index through the checks.
    const kept = cleanPackedBoxes(list.map((l) => l.box), list.map((_, i) => [[i, i + 1]]), im.width, im.height, list.length, where, skipped);
    if (kept.length === 0) {
      skipped.add('no_boxes', where);
      continue;
    }
    const labels = kept.map((k) => list[k.spans[0]![0]]!.label);
    fine.push({
      key: typeof im.id === 'number' ? String(im.id).padStart(12, '0') : where.replace(/[./]/g, '_'),
      imagePath: join(imagesDir, im.file_name),
      json: { image_id: im.id, width: im.width, height: im.height, boxes: kept.map((k) => k.box), labels, categories },
    });
  }
  return { coarse: [], fine, skipped };
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}
