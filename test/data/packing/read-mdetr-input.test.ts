import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMdetrInput } from '../../../src/data/packing/read-mdetr-input.js';

/** The MDETR reader on hand-made records: what each sample holds, and every kind of bad record counted, none thrown. */
let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fiber-mdetr-'));
});
after(() => rm(tmp, { recursive: true, force: true }));

async function read(json: unknown, opts = {}) {
  const path = join(tmp, 'ann.json');
  await writeFile(path, JSON.stringify(json));
  return readMdetrInput('/imgs', path, opts);
}

const rec = (id: number, caption: string, extra: Record<string, unknown> = {}) => ({ id, file_name: `${id}.jpg`, width: 100, height: 50, caption, ...extra });
const ann = (image_id: number, bbox: unknown, tokens_positive: unknown, extra: Record<string, unknown> = {}) => ({ image_id, bbox, tokens_positive, category_id: 1, ...extra });

test('one sample per record: xyxy boxes clipped to the image, spans per box, Flickr30k separateGT boxes kept apart', async () => {
  const caption = 'two dogs and a man';
  const r = await read({
    images: [rec(7, caption, { tokens_positive_eval: [[[0, 8]], [[13, 18]]], dataset_name: 'flickr', data_source: 'vg' })],
    annotations: [ann(7, [0, 0, 10, 10], [[0, 8]]), ann(7, [20, 5, 10, 10], [[0, 8]]), ann(7, [90, 40, 20, 20], [[13, 18]])],
  }, { vgImagesDir: '/vg' });
  assert.equal(r.fine.length, 1);
  assert.deepEqual(r.coarse, []);
  const s = r.fine[0]!;
  assert.equal(s.key, '000000000007');
  assert.equal(s.imagePath, join('/vg', '7.jpg'), 'data_source vg reads --vg-images');
  assert.deepEqual(s.json.boxes, [[0, 0, 10, 10], [20, 5, 30, 15], [90, 40, 100, 50]]);
  assert.deepEqual(s.json.tokens_positive, [[[0, 8]], [[0, 8]], [[13, 18]]]);
  assert.deepEqual(s.json.tokens_positive_eval, [[[0, 8]], [[13, 18]]]);
  assert.equal(s.json.caption, caption);
  assert.equal(s.json.dataset_name, 'flickr');
  assert.equal(r.skipped?.total, 0);
});

test('without tokens_positive_eval each distinct span list of a box is one phrase: a RefCOCO record is one expression', async () => {
  const r = await read({ images: [rec(1, 'left white car'), rec(2, 'a car', { tokens_positive_eval: 'bad' })], annotations: [ann(1, [1, 1, 5, 5], [[0, 4], [5, 10], [11, 14]]), ann(2, [1, 1, 5, 5], [[2, 5]])] });
  assert.deepEqual(r.fine[0]!.json.tokens_positive_eval, [[[0, 4], [5, 10], [11, 14]]]);
  assert.deepEqual(r.fine[1]!.json.tokens_positive_eval, [[[2, 5]]], 'a malformed one is derived from the boxes, and counted');
  assert.deepEqual(r.skipped?.counts, { malformed_record: 1 });
  assert.equal(r.fine[0]!.imagePath, join('/imgs', '1.jpg'));
});

test('bad records, boxes and spans are skipped and counted by reason', async () => {
  const r = await read({
    images: [
      rec(1, 'a cat'), // good, with one bad box beside it
      rec(2, '   '), // empty_caption
      { id: 3, caption: 'no file', width: 10, height: 10 }, // malformed_record
      rec(4, 'a dog'), // only box outside the image: box_outside_image + no_boxes
      rec(1, 'same id again'), // malformed_record (duplicate id)
      rec(5, 'a bird'), // crowd box, zero-area box, unnamed box, bad bbox: no_boxes
    ],
    annotations: [
      ann(1, [1, 1, 5, 5], [[2, 5]]), ann(1, [1, 1, 5, 5], [[2, 50]]), // span_outside_caption: second box dropped
      ann(4, [200, 0, 5, 5], [[2, 5]]),
      ann(5, [1, 1, 5, 5], [[2, 6]], { iscrowd: 1 }), ann(5, [1, 1, 0, 5], [[2, 6]]), ann(5, [1, 1, 5, 5], []), ann(5, [1, 1, 5], [[2, 6]]),
      ann(77, [1, 1, 5, 5], [[0, 1]]), // unknown_image
    ],
  });
  assert.deepEqual(r.fine.map((s) => s.key), ['000000000001']);
  assert.deepEqual(r.fine[0]!.json.boxes, [[1, 1, 6, 6]]);
  assert.deepEqual(r.skipped?.counts, {
    unknown_image: 1, empty_caption: 1, malformed_record: 3, box_outside_image: 1, no_boxes: 2, span_outside_caption: 1, crowd_box: 1, zero_area_box: 1, unnamed_box: 1,
  });
  assert.ok(r.skipped!.examples.some((e) => e.reason === 'box_outside_image' && e.where === '000000000004'));
});

test('a file that is not MDETR JSON is a usage error naming --annotations', async () => {
  await writeFile(join(tmp, 'bad.json'), '{"images": [');
  await assert.rejects(readMdetrInput('/imgs', join(tmp, 'bad.json')), { code: 'fiber.usage', message: /--annotations .* not valid JSON/ });
  await assert.rejects(readMdetrInput('/imgs', join(tmp, 'absent.json')), { code: 'fiber.usage', message: /cannot read --annotations/ });
});
