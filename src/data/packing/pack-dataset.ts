import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ObjectStore } from '../../storage/object-store.js';
import type { PackInput, PackedSample } from './pack-sources.js';
import { PackSkips, type PackSkipExample, type PackSkipReason } from './pack-skips.js';
import { ShardWriter, type WrittenShards } from '../webdataset/shard-writer.js';

/** Where and how `fiber data pack` writes. */
export interface PackConfig {
  /** Folder URL; coarse shards go to `<out>/coarse/`, fine shards to `<out>/fine/`. */
  readonly out: string;
  /** @defaultValue 1000 */
  readonly samplesPerShard: number;
}

/** What was packed; `missingImages` lists samples skipped because their image file was absent. */
export interface PackResult {
  readonly coarse?: WrittenShards;
  readonly fine?: WrittenShards;
  readonly missingImages: string[];
  /** What was left out, by reason (PACK_SKIP_REASONS): the reader's counts plus `missing_image` per sample. */
  readonly skipped: Partial<Record<PackSkipReason, number>>;
  /** The first few skipped things, for the user to look at. */
  readonly skippedExamples: PackSkipExample[];
}

/** Write the coarse and (if any) fine samples of `input` as shards with their indexes. */
export async function packDataset(input: PackInput, store: ObjectStore, config: PackConfig, onProgress?: (written: number) => void): Promise<PackResult> {
  const missingImages: string[] = [];
  const skips = input.skipped ?? new PackSkips();
  const base = config.out.replace(/\/+$/, '');
  // Several fine samples (one per caption) share an image and come in a row: keep the last one.
  let last: { path: string; bytes: Promise<Buffer | undefined> } | undefined;
  const image = (path: string): Promise<Buffer | undefined> => {
    if (last?.path !== path) last = { path, bytes: readFile(path).catch(() => undefined) };
    return last.bytes;
  };
  let written = 0;
  const write = async (samples: PackedSample[], out: string): Promise<WrittenShards | undefined> => {
    if (samples.length === 0) return undefined;
    const writer = new ShardWriter(store, { out, samplesPerShard: config.samplesPerShard });
    for (const s of samples) {
      const bytes = await image(s.imagePath);
      if (!bytes) {
        missingImages.push(s.imagePath);
        skips.add('missing_image', s.key, s.imagePath);
        continue;
      }
      const ext = extname(s.imagePath).slice(1).toLowerCase().replace('jpeg', 'jpg');
      const files: Array<[string, Uint8Array]> = [[ext, bytes], ['json', Buffer.from(JSON.stringify(s.json))]];
      if (s.txt !== undefined) files.push(['txt', Buffer.from(s.txt)]);
      await writer.add(s.key, files);
      onProgress?.(++written);
    }
    return writer.finish();
  };
  const coarse = await write(input.coarse, `${base}/coarse`);
  const fine = await write(input.fine, `${base}/fine`);
  return { ...(coarse ? { coarse } : {}), ...(fine ? { fine } : {}), missingImages: [...new Set(missingImages)], skipped: { ...skips.counts }, skippedExamples: [...skips.examples] };
}
