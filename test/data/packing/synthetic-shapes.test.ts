import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { resolveRunConfig } from '../../../src/config/index.js';
import type { CoarseBatch, FineBatch } from '../../../src/data/pipeline/batch.js';
import { stageDataConfig } from '../../../src/stage/data-config.js';
import { createObjectStore, type ObjectStore } from '../../../src/storage/object-store.js';
import type { PackResult } from '../../../src/data/packing/pack-dataset.js';
import type { PackInput } from '../../../src/data/packing/pack-sources.js';
import { packShapesDataset } from '../../../src/data/packing/pack-shapes.js';
import { SHAPE_COLOURS, SHAPE_COLOUR_NAMES, type ShapeColour } from '../../../src/data/packing/shapes-scene.js';
import { generateShapesInput } from '../../../src/data/packing/synthetic-shapes.js';
import { TaskDataLoader } from '../../../src/data/pipeline/task-data-loader.js';
import { UsageError } from '../../../src/errors/index.js';

type Box = [number, number, number, number];
interface FineJson { caption: string; boxes: Box[]; tokens_positive: Array<Array<[number, number]>>; width: number; height: number }
interface CoarseJson { captions: string[]; width: number; height: number }

const SIZE = 64;
const CONFIG = { count: 64, seed: 7, size: SIZE };
const KIND_WORDS = /\b(circle|square|triangle|bar)\b/g;
let tmp: string;
let input: PackInput;
let store: ObjectStore;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fiber-shapes-test-'));
  input = await generateShapesInput(join(tmp, 'a'), CONFIG);
  store = createObjectStore();
});
after(async () => {
  await store.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Every file of a generated folder and the samples' JSON, with image paths reduced to file names. */
async function digest(dir: string, samples: PackInput): Promise<string> {
  const h = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) h.update(name).update(await readFile(join(dir, name)));
  const portable = (list: PackInput['coarse']) => list.map((s) => ({ ...s, imagePath: basename(s.imagePath) }));
  h.update(JSON.stringify({ coarse: portable(samples.coarse), fine: portable(samples.fine) }));
  return h.digest('hex');
}

/** The palette colour nearest to an RGB pixel. */
function nearestColour(rgb: readonly number[]): ShapeColour {
  const dist = (c: ShapeColour) => SHAPE_COLOURS[c].reduce((s, v, i) => s + (v - (rgb[i] as number)) ** 2, 0);
  return SHAPE_COLOUR_NAMES.reduce((best, c) => (dist(c) < dist(best) ? c : best));
}

test('same seed, same PNG and JSON bytes; another seed, other scenes', async () => {
  const again = await generateShapesInput(join(tmp, 'b'), CONFIG);
  const other = await generateShapesInput(join(tmp, 'c'), { ...CONFIG, seed: 8 });
  const a = await digest(join(tmp, 'a'), input);
  assert.equal(await digest(join(tmp, 'b'), again), a);
  assert.notEqual(await digest(join(tmp, 'c'), other), a);
  assert.equal(input.coarse.length, 64);
  assert.equal(input.fine.length, 64, 'one grounding sample per scene');
  assert.equal(new Set(input.fine.map((s) => s.key)).size, 64, 'keys are unique');
});

test('every shape has its box inside the image, the colour its phrase names at the box centre, and the kind and size it names', async () => {
  let shapes = 0;
  const aspects = new Set<number>();
  for (const [i, sample] of input.fine.entries()) {
    const json = sample.json as unknown as FineJson;
    const coarse = input.coarse[i]?.json as unknown as CoarseJson;
    assert.equal(json.caption, coarse.captions[0], 'grounding uses the first caption');
    assert.equal(input.coarse[i]?.txt, coarse.captions[0]);
    assert.equal(coarse.captions.length, 3);
    for (const c of coarse.captions) assert.equal(c.match(KIND_WORDS)?.length, json.boxes.length, `every caption names every shape once: ${c}`);
    assert.ok(json.boxes.length >= 1 && json.boxes.length <= 3);
    assert.equal(json.tokens_positive.length, json.boxes.length);
    const { data, info } = await sharp(sample.imagePath).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [json.width, json.height, 3]);
    assert.equal(Math.min(json.width, json.height), SIZE, 'the shorter side is the configured size');
    assert.ok([1, 1.5].includes(Math.max(json.width, json.height) / SIZE), `square, 3:2 or 2:3: ${json.width}x${json.height}`);
    aspects.add(Math.sign(json.width - json.height));
    const W = json.width;
    const colourAt = (x: number, y: number): ShapeColour | 'background' => {
      const p = Array.from(data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
      const c = nearestColour(p);
      return SHAPE_COLOURS[c].every((v, k) => v === p[k]) ? c : 'background';
    };
    json.boxes.forEach(([x0, y0, x1, y1], b) => {
      shapes++;
      assert.ok(x0 >= 0 && y0 >= 0 && x1 <= json.width && y1 <= json.height && x1 > x0 && y1 > y0, `box inside the image: ${json.boxes[b]}`);
      const spans = json.tokens_positive[b] ?? [];
      assert.equal(spans.length, 1);
      const [s, e] = spans[0] as [number, number];
      const phrase = json.caption.slice(s, e);
      const m = /^(?:(large|small) )?(\w+) (circle|square|triangle|bar)$/.exec(phrase);
      assert.ok(m, `span names one shape: "${phrase}" in "${json.caption}"`);
      const [, size, colour, kind] = m;
      assert.equal(colourAt(Math.floor((x0 + x1) / 2), Math.floor((y0 + y1) / 2)), colour, `${phrase} at the centre of ${json.boxes[b]} (${sample.key})`);
      const w = x1 - x0;
      const h = y1 - y0;
      const corner = colourAt(x0, y0) === colour;
      const expected = { square: w === h && corner, bar: w !== h && corner, circle: w === h && !corner && colourAt(Math.floor((x0 + x1) / 2), y0) === colour, triangle: w === h && !corner && colourAt(x0, y1 - 1) === colour };
      assert.ok(expected[kind as keyof typeof expected], `${phrase} looks like a ${kind} (${sample.key})`);
      if (size) assert.equal(Math.max(w, h) >= 24, size === 'large', `${phrase} is ${w}x${h}`);
    });
  }
  assert.ok(shapes > 64 * 2, `most scenes have several shapes (${shapes})`);
  assert.deepEqual([...aspects].sort(), [-1, 0, 1], 'portrait, square and landscape scenes');
});

test('relations and positions in the captions agree with the boxes', () => {
  let relations = 0;
  for (const sample of input.fine) {
    const json = sample.json as unknown as FineJson;
    const spans = json.tokens_positive.map((list, b) => ({ box: json.boxes[b] as Box, start: list[0]?.[0] as number, end: list[0]?.[1] as number }));
    for (const m of json.caption.matchAll(/\b(left|right) of|\b(above|below)\b/g)) {
      const before = spans.filter((s) => s.end <= (m.index as number)).sort((p, q) => q.end - p.end)[0];
      const after = spans.filter((s) => s.start >= (m.index as number)).sort((p, q) => p.start - q.start)[0];
      assert.ok(before && after, json.caption);
      const [a, b] = [before.box, after.box];
      const holds = { left: a[2] <= b[0], right: a[0] >= b[2], above: a[3] <= b[1], below: a[1] >= b[3] }[(m[1] ?? m[2]) as 'left'];
      assert.ok(holds, `"${json.caption}": ${a} ${m[0]} ${b}`);
      relations++;
    }
    const where = /(at the|on the|in the) ?(top|bottom)? ?(left|right|middle)?$/.exec(json.caption);
    if (json.boxes.length === 1 && where) {
      const [x0, y0, x1, y1] = json.boxes[0] as Box;
      const third = (v: number, size: number) => (v < size / 3 ? 0 : v < (2 * size) / 3 ? 1 : 2);
      assert.equal(third((y0 + y1) / 2, json.height), where[2] === 'top' ? 0 : where[2] === 'bottom' ? 2 : 1, json.caption);
      assert.equal(third((x0 + x1) / 2, json.width), where[3] === 'left' ? 0 : where[3] === 'right' ? 2 : 1, json.caption);
    }
  }
  assert.ok(relations > 10, `relations are exercised (${relations})`);
});

test('captions tell scenes apart: 64 scenes have at least 62 distinct first captions', () => {
  assert.ok(new Set(input.coarse.map((s) => s.txt)).size >= 62);
});

test('bad settings are usage errors naming the field', async () => {
  await assert.rejects(generateShapesInput(join(tmp, 'x'), { ...CONFIG, count: 0 }), (e: unknown) => e instanceof UsageError && /--count/.test(e.message));
  await assert.rejects(generateShapesInput(join(tmp, 'x'), { ...CONFIG, size: 16 }), (e: unknown) => e instanceof UsageError && /--size/.test(e.message));
  await assert.rejects(packShapesDataset(store, { out: join(tmp, 'x'), seed: -1 }), (e: unknown) => e instanceof UsageError && /--seed/.test(e.message));
});

test('packed shards load in both stages with the fiber-tiny data settings, every sample and box kept, no text truncated', async () => {
  const scratch = async () => (await readdir(tmpdir())).filter((n) => /^fiber-shapes-(?!test)/.test(n)).sort();
  const before = await scratch();
  const packed: PackResult = await packShapesDataset(store, { out: `file://${tmp}/packed`, count: 24, seed: 3, samplesPerShard: 10 });
  assert.equal(packed.coarse?.samples, 24);
  assert.equal(packed.fine?.samples, 24);
  assert.equal(packed.coarse?.pattern, `file://${tmp}/packed/coarse/{000000..000002}.tar`);
  assert.deepEqual(packed.missingImages, []);
  assert.deepEqual(await scratch(), before, 'the PNG folder is removed');

  // The workers' own mapping from the run config.
  const run = resolveRunConfig({ preset: 'fiber-tiny', file: { data: { coarse: { shards: [packed.coarse?.pattern] }, fine: { shards: [packed.fine?.pattern] } } } });
  const plan = { seed: 0, globalBatch: 8, tasksPerStep: 1 };
  const coarse = await TaskDataLoader.open(stageDataConfig(run, 'coarse', 'train'), plan, { store });
  try {
    const keys = new Set<string>();
    for (let v = 0; v < 3; v++) {
      const b = (await coarse.loadTask(v, 0)) as CoarseBatch;
      assert.deepEqual(b.skipped, {});
      assert.equal(b.pixelValues.length, b.numSamples * 3 * SIZE * SIZE);
      b.keys.forEach((k) => keys.add(k));
    }
    assert.equal(keys.size, 24, 'an epoch reads every scene');
    assert.equal(coarse.bad.total, 0);
  } finally {
    await coarse.close();
  }

  const fine = await TaskDataLoader.open(stageDataConfig(run, 'fine', 'train'), plan, { store });
  try {
    let boxes = 0;
    for (let v = 0; v < 3; v++) {
      const b = (await fine.loadTask(v, 0)) as FineBatch;
      assert.deepEqual(b.skipped, {});
      // Shorter side from fiber-tiny's minSizes (48-64), aspect kept, padded to multiples of 32.
      assert.ok(b.imageHeight % 32 === 0 && b.imageWidth % 32 === 0 && Math.max(b.imageHeight, b.imageWidth) <= 128, `${b.imageHeight}x${b.imageWidth}`);
      for (let i = 0; i < b.numSamples; i++) {
        const [h, w] = [b.imageSizes[2 * i]!, b.imageSizes[2 * i + 1]!];
        assert.ok(Math.min(h, w) >= 48 && Math.min(h, w) <= 64 && Math.max(h, w) <= 107, `image ${i}: ${h}x${w}`);
      }
      const L = b.textLength;
      for (let r = 0; r < b.numSamples * b.maxBoxes; r++) {
        if (!b.boxMask[r]) continue;
        boxes++;
        const row = b.positiveMap.subarray(r * L, (r + 1) * L);
        assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-5, 'the phrase survived tokenisation');
      }
    }
    const packedInput = await generateShapesInput(join(tmp, 'again'), { count: 24, seed: 3, size: SIZE });
    const expected = packedInput.fine.reduce((s, x) => s + (x.json.boxes as Box[]).length, 0);
    assert.equal(boxes, expected, 'no box dropped');
    assert.equal(fine.bad.total, 0);
    for (const s of packedInput.coarse) {
      for (const c of (s.json as unknown as CoarseJson).captions) assert.ok(fine.tokenizer.encode(c, 1000).ids.length <= run.data.coarse.maxTextLen, `fits the coarse text length: ${c}`);
    }
  } finally {
    await fine.close();
  }
});
