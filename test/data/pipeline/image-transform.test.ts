import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { BadSampleCounter } from '../../../src/data/bad-sample.js';
import { dataStageConfig } from '../../../src/data/pipeline/data-stage-config.js';
import { coarseImage, fineImage, fineOutputSize, UndecodableImageError } from '../../../src/data/pipeline/image-transform.js';
import { IMAGENET_NORMALIZATION } from '../../../src/data/pipeline/data-stage-config.js';
import { prepareSample } from '../../../src/data/pipeline/prepare-sample.js';
import type { Rng } from '../../../src/data/pipeline/rng.js';
import { defaultTokenizer } from '../../../src/data/pipeline/text-tokenizer.js';

/** 200x100 image, white, with a pure red block at x in [20, 60), y in [30, 70). */
async function redBlock(format: 'png' | 'jpeg' | 'webp'): Promise<Buffer> {
  const red = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ff0000' } }).png().toBuffer();
  const img = sharp({ create: { width: 200, height: 100, channels: 3, background: '#ffffff' } }).composite([{ input: red, left: 20, top: 30 }]);
  return format === 'png' ? img.png().toBuffer() : format === 'webp' ? img.webp({ lossless: true }).toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

/** Red channel (unnormalised 0..1) at (x, y) of a CHW image. */
function redAt(pixels: Float32Array, w: number, h: number, x: number, y: number): number {
  const n = IMAGENET_NORMALIZATION;
  return (pixels[y * w + x] as number) * n.std[0] + n.mean[0] - ((pixels[2 * h * w + y * w + x] as number) * n.std[2] + n.mean[2]);
}

test('coarse: JPEG, PNG and WebP decode and resize to S x S, normalised with ImageNet mean/std', async () => {
  for (const f of ['jpeg', 'png', 'webp'] as const) {
    const img = await coarseImage(await redBlock(f), 64, IMAGENET_NORMALIZATION);
    assert.equal(img.pixels.length, 3 * 64 * 64);
    assert.deepEqual([img.originalWidth, img.originalHeight], [200, 100]);
    // White -> (1 - mean) / std; red block centre at (40/200*64, 50/100*64) = (12.8, 32).
    assert.ok(Math.abs((img.pixels[0] as number) - (1 - 0.485) / 0.229) < 0.05, f);
    assert.ok(redAt(img.pixels, 64, 64, 13, 32) > 0.8, `${f}: red where the block is`);
  }
});

test('fine: maskrcnn sizes (shorter side, capped longer side)', () => {
  assert.deepEqual(fineOutputSize(640, 480, { shortSide: 800, maxSize: 1333 }), { width: 1066, height: 800 });
  assert.deepEqual(fineOutputSize(400, 1200, { shortSide: 800, maxSize: 1333 }), { width: 444, height: 1332 });
  assert.deepEqual(fineOutputSize(200, 100, { shortSide: 50, maxSize: 1333 }), { width: 100, height: 50 });
});

test('undecodable bytes throw UndecodableImageError', async () => {
  await assert.rejects(coarseImage(Buffer.from('not an image at all'), 32, IMAGENET_NORMALIZATION), UndecodableImageError);
  const jpg = await redBlock('jpeg');
  await assert.rejects(fineImage(jpg.subarray(0, jpg.length >> 1), { shortSide: 50, maxSize: 100 }, false, IMAGENET_NORMALIZATION), UndecodableImageError);
});

test('fine flip mirrors the image, the box and "left"/"right" together', async () => {
  const png = await redBlock('png');
  const config = dataStageConfig('fine', [], { fine: { minSizes: [50], maxSize: 1333, flipProbability: 0.5, sizeDivisibility: 32 }, maxTextLen: 32 });
  const caption = 'a red square on the left';
  const annotations = { key: 'k', shard: 's', image: png, imageExt: 'png', captions: [caption], boxes: [[20, 30, 60, 70]] as Array<[number, number, number, number]>, tokensPositive: [[[0, 12], [20, 24]]] as Array<Array<[number, number]>>, labels: [], categories: [] };
  const fixed = (flipDraw: number): Rng => ({ next: () => flipDraw, int: () => 0 });
  const tok = defaultTokenizer();
  const bad = new BadSampleCounter();
  const plain = await prepareSample(annotations, 0, config, tok, fixed(0.9), bad);
  const flipped = await prepareSample(annotations, 0, config, tok, fixed(0.1), bad);
  assert.ok(plain && flipped);
  assert.equal(plain.image.width, 100);
  assert.deepEqual(plain.boxes[0], [10, 15, 30, 35]);
  assert.deepEqual(flipped.boxes[0], [70, 15, 90, 35]);
  assert.ok(redAt(flipped.image.pixels, 100, 50, 80, 25) > 0.8, 'red is under the flipped box');
  assert.ok(redAt(flipped.image.pixels, 100, 50, 20, 25) < 0.2, 'and gone from the original place');
  assert.equal(tok.decode(flipped.ids), 'a red square on the right');
  const words = flipped.boxSpans[0]?.map(([s, e]) => 'a red square on the right'.slice(s, e));
  assert.deepEqual(words, ['a red square', 'right']);
  assert.equal(bad.total, 0);
});
