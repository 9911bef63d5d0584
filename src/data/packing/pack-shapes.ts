import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '../../storage/object-store.js';
import { packDataset, type PackConfig, type PackResult } from './pack-dataset.js';
import { checkShapesConfig, DEFAULT_SHAPES_CONFIG, generateShapesInput, type ShapesConfig } from './synthetic-shapes.js';

/** `out` is required; the rest default to DEFAULT_SHAPES_CONFIG and 1000 samples per shard. */
export type PackShapesConfig = Pick<PackConfig, 'out'> & Partial<ShapesConfig> & Partial<Pick<PackConfig, 'samplesPerShard'>>;

/**
 * Generate the shapes dataset and write it as coarse and fine shards under `config.out`, as
 * `fiber data pack` does. The PNGs go through a temporary folder, removed afterwards (also on
 * failure), so `out` can be any store URL.
 */
export async function packShapesDataset(store: ObjectStore, config: PackShapesConfig, onProgress?: (written: number) => void): Promise<PackResult> {
  const shapes: ShapesConfig = { count: config.count ?? DEFAULT_SHAPES_CONFIG.count, seed: config.seed ?? DEFAULT_SHAPES_CONFIG.seed, size: config.size ?? DEFAULT_SHAPES_CONFIG.size };
  checkShapesConfig(shapes); // before creating anything
  const dir = await mkdtemp(join(tmpdir(), 'fiber-shapes-'));
  try {
    const input = await generateShapesInput(dir, shapes);
    return await packDataset(input, store, { out: config.out, samplesPerShard: config.samplesPerShard ?? 1000 }, onProgress);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
