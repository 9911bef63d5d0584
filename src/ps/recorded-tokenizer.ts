import type { ObjectStore } from '../storage/object-store.js';
import { tokenizerFromMetadata, type TokenizerIdentity } from '../data/pipeline/tokenizer-identity.js';
import { StorageError } from '../errors/index.js';
import { readLatest, readManifest } from './checkpoint-io.js';

/**
 * The tokenizer a checkpoint URI records, the forms `--init` accepts: a step directory or a stage
 * directory (the manifest's `tokenizer`), or a `.safetensors` file (its `fiber.tokenizer`
 * metadata, else the manifest of the step directory it sits in). Undefined: none recorded
 * (older checkpoints, foreign files), i.e. unknown.
 */
export async function recordedTokenizer(store: ObjectStore, uri: string): Promise<TokenizerIdentity | undefined> {
  if (uri.endsWith('.safetensors')) {
    const inFile = tokenizerFromMetadata(await readSafetensorsMetadata(store, uri));
    if (inFile) return inFile;
    const dir = uri.slice(0, Math.max(0, uri.lastIndexOf('/')));
    return dir ? (await readManifest(store, dir).catch(ifNotFound(undefined)))?.tokenizer : undefined;
  }
  const dir = uri.replace(/\/+$/, '');
  const manifest = await readManifest(store, dir).catch(ifNotFound(undefined));
  if (manifest) return manifest.tokenizer;
  return (await readLatest(store, dir))?.manifest.tokenizer;
}

/** Only the header of a safetensors file (two ranged reads: a model file can be gigabytes). */
async function readSafetensorsMetadata(store: ObjectStore, uri: string): Promise<Record<string, string>> {
  const len = Number((await store.read(uri, { offset: 0, length: 8 })).readBigUInt64LE(0));
  if (len <= 0 || len > 100 * 1024 * 1024) return {};
  try {
    const header = JSON.parse((await store.read(uri, { offset: 8, length: len })).toString('utf8')) as { __metadata__?: Record<string, string> };
    return header.__metadata__ ?? {};
  } catch {
    // Not JSON: loading the weights reports the damaged file with its own error.
    return {};
  }
}

function ifNotFound<T>(value: T): (err: unknown) => T {
  return (err: unknown) => {
    if (err instanceof StorageError && err.code === 'fiber.storage.not_found') return value;
    throw err;
  };
}
