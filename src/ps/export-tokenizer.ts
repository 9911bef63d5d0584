import type { ObjectStore } from '../storage/object-store.js';
import { StorageError } from '../errors/index.js';
import type { CheckpointManifest } from './checkpoint-layout.js';
import { joinUrl } from '../storage/url.js';

/*
 * The tokenizer an export records. Kept apart and read defensively: `data.tokenizer` in the run
 * config and `tokenizerHash` in the manifest are new, so older checkpoints have neither.
 */

export interface ExportTokenizer {
  /** `data.tokenizer` of the run config, "default" when the run used the bundled vocabulary. */
  readonly location: string;
  /** The manifest's `tokenizerHash`, or null when the checkpoint predates it. */
  readonly hash: string | null;
  /** Tokenizer files copied into the export folder ([] for "default" or an unreadable location). */
  readonly files: string[];
}

/** The manifest's recorded tokenizer; manifests written before tokenizers were recorded fall back to the config's location. */
export function tokenizerOf(manifest: CheckpointManifest): { location: string; hash: string | null } {
  if (manifest.tokenizer) return { location: manifest.tokenizer.location, hash: manifest.tokenizer.sha256 };
  const config = manifest.config as { data?: { tokenizer?: unknown } } | null;
  const location = typeof config?.data?.tokenizer === 'string' && config.data.tokenizer ? config.data.tokenizer : 'default';
  return { location, hash: null };
}

/**
 * Copies tokenizer.json, or vocab.json + merges.txt, from a tokenizer folder (or a tokenizer.json
 * location) into `outDir`, so the export carries the ids its embeddings were trained with.
 * Returns the names copied; [] for "default" (npm-bundled, nothing to copy) or a location that is
 * not readable from here, which the export reports rather than fails on.
 */
export async function copyTokenizerFiles(store: ObjectStore, location: string, outDir: string): Promise<string[]> {
  if (location === 'default') return [];
  const base = location.replace(/\/+$/, '');
  const read = async (url: string): Promise<Buffer | null> => {
    try {
      return await store.read(url);
    } catch (err) {
      if (err instanceof StorageError) return null;
      throw err;
    }
  };
  const sets = base.endsWith('.json') ? [[base]] : [[joinUrl(base, 'tokenizer.json')], [joinUrl(base, 'vocab.json'), joinUrl(base, 'merges.txt')]];
  for (const urls of sets) {
    const bytes = await Promise.all(urls.map(read));
    if (bytes.some((b) => b === null)) continue;
    const names = urls.map((u) => u.slice(u.lastIndexOf('/') + 1));
    await Promise.all(names.map((n, i) => store.write(joinUrl(outDir, n), bytes[i]!)));
    return names;
  }
  return [];
}
