import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonArrays } from '../../../src/data/packing/read-json-arrays.js';

/** The streaming reader of annotation files' top-level arrays against JSON.parse of the whole file. */
let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fiber-json-arrays-'));
});
after(() => rm(tmp, { recursive: true, force: true }));

test('the wanted arrays come back element by element, equal to JSON.parse of the whole file', async () => {
  // Strings with brackets, quotes, escapes and non-ASCII; a decoy "images" key nested deeper; elements larger than a stream chunk.
  const doc = {
    info: { note: 'a } ] [ { "quoted" \\ text', images: [{ id: -1 }] },
    images: [{ id: 1, file_name: 'a.jpg', caption: 'a "red" {car} \\ über ✓' }, { id: 2, tags: [[1, 2], { x: ']' }] }],
    'annotations': Array.from({ length: 3 }, (_, i) => ({ image_id: 1, bbox: [i, 2, 3, 4], tokens_positive: [[0, 5]], pad: 'x'.repeat(70_000) })),
    categories: [],
    'odd \\"key': [{ skip: true }],
  };
  const path = join(tmp, 'doc.json');
  await writeFile(path, JSON.stringify(doc, null, 1));
  const got = await readJsonArrays(path, '--annotations', ['images', 'annotations', 'categories', 'absent']);
  assert.deepEqual(got, { images: doc.images, annotations: doc.annotations, categories: [], absent: [] });
});

test('broken or unreadable files are usage errors naming the flag', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{"images": [{"id": 1}', /--instances .* not valid JSON: the file ends inside a value/],
    ['[{"images": []}]', /not valid JSON: the top level is not an object/],
    ['{"images": [{"id": 1,}]}', /not valid JSON/],
    ['', /not valid JSON: the file is empty/],
  ];
  for (const [text, message] of cases) {
    const path = join(tmp, 'bad.json');
    await writeFile(path, text);
    await assert.rejects(readJsonArrays(path, '--instances', ['images']), { code: 'fiber.usage', message }, text);
  }
  await assert.rejects(readJsonArrays(join(tmp, 'none.json'), '--captions', ['images']), { code: 'fiber.usage', message: /cannot read --captions/ });
});
