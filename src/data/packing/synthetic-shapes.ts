import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors/index.js';
import { mapLimit } from '../../storage/map-limit.js';
import type { PackInput, PackedSample } from './pack-sources.js';
import { renderScenePng } from './render-scene.js';
import { createRng, hashInts } from '../pipeline/rng.js';
import { captionScene } from './shapes-captions.js';
import { layoutScene } from './shapes-scene.js';

/** What to generate. */
export interface ShapesConfig {
  /** Scenes; each is one coarse and one fine sample. @defaultValue 512 */
  readonly count: number;
  /** Scene i depends only on (seed, i): same seed, same files byte for byte, and a larger count extends a smaller one. @defaultValue 0 */
  readonly seed: number;
  /** Shorter image side in pixels (scenes are square, 3:2 or 2:3); shape sizes scale with it. @defaultValue 64 (fiber-tiny's imageSize) */
  readonly size: number;
}

export const DEFAULT_SHAPES_CONFIG: ShapesConfig = { count: 512, seed: 0, size: 64 };
/** Below 32 px the small shapes shrink under 7 px; above 1024 nothing is gained but bytes. */
export const SHAPES_SIZE_RANGE = [32, 1024] as const;

/** Images encoded at once (sharp encodes in libuv's thread pool). */
const ENCODE_CONCURRENCY = 4;

/**
 * Render `count` scenes as PNG files into `dir` and return the samples to pack. Coarse: one sample
 * per scene with three paraphrases (`captions`) and the first as `txt`. Fine: one grounding sample
 * per scene, MDETR style: the first caption, every shape's box, and the span naming each shape.
 */
export async function generateShapesInput(dir: string, config: ShapesConfig): Promise<PackInput> {
  checkShapesConfig(config);
  await mkdir(dir, { recursive: true });
  const { size } = config;
  const scenes = Array.from({ length: config.count }, (_, i) => i);
  const samples = await mapLimit(scenes, ENCODE_CONCURRENCY, async (i): Promise<{ coarse: PackedSample; fine: PackedSample }> => {
    const rng = createRng(hashInts(config.seed, i));
    const scene = layoutScene(rng, size);
    const captions = captionScene(scene, rng);
    const grounding = captions[0] as (typeof captions)[number];
    const key = `shapes_${String(i).padStart(6, '0')}`;
    const imagePath = join(dir, `${key}.png`);
    await writeFile(imagePath, await renderScenePng(scene));
    return {
      coarse: { key, imagePath, json: { image_id: i, width: scene.width, height: scene.height, captions: captions.map((c) => c.text) }, txt: grounding.text },
      fine: { key, imagePath, json: { image_id: i, width: scene.width, height: scene.height, caption: grounding.text, boxes: scene.shapes.map((s) => [...s.box]), tokens_positive: grounding.spans } },
    };
  });
  return { coarse: samples.map((s) => s.coarse), fine: samples.map((s) => s.fine) };
}

/** Throws UsageError naming the first bad field (and its `fiber data synth` flag). */
export function checkShapesConfig(config: ShapesConfig): void {
  const bad = (field: string, rule: string, got: number): UsageError =>
    new UsageError(`${field} (--${field}) must be ${rule}, got ${got}`, 'fiber.usage.invalid_option', { field });
  if (!Number.isSafeInteger(config.count) || config.count < 1) throw bad('count', 'an integer >= 1', config.count);
  if (!Number.isSafeInteger(config.seed) || config.seed < 0) throw bad('seed', 'an integer >= 0', config.seed);
  const [lo, hi] = SHAPES_SIZE_RANGE;
  if (!Number.isSafeInteger(config.size) || config.size < lo || config.size > hi) throw bad('size', `an integer from ${lo} to ${hi} (pixels)`, config.size);
}
