import { StorageError } from '../../errors/index.js';
import { BadSampleCounter } from '../bad-sample.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { readSamples, sampleCrc32 } from './raw-sample.js';

/**
 * Where each sample of one shard sits, so a worker can fetch exactly its samples with ranged
 * GETs. Stored as JSON next to the shard: `000123.tar` -> `000123.tar.index.json`. Columnar
 * arrays keep it small (about 30 bytes a sample).
 */
export interface ShardIndex {
  readonly format: 'fiber-shard-index';
  readonly version: 1;
  /** Basename of the shard this describes (the index is always read from beside it). */
  readonly shard: string;
  /** Size of the shard in bytes when indexed: a mismatch means the index is stale. */
  readonly shardBytes: number;
  readonly keys: readonly string[];
  /** Byte offset of each sample's first tar header. */
  readonly offsets: readonly number[];
  /** Bytes of each sample, headers and padding included (a valid tar fragment on its own). */
  readonly sizes: readonly number[];
  /** CRC-32 of each sample's member data in tar order ({@link sampleCrc32}); absent in older indexes. */
  readonly crc32s?: readonly number[];
}

export function indexUrlFor(shardUrl: string): string {
  return `${shardUrl}.index.json`;
}

/** Build an index by streaming the whole shard once. Bad members are counted, not indexed. */
export async function buildShardIndex(store: ObjectStore, shardUrl: string, bad = new BadSampleCounter()): Promise<ShardIndex> {
  const keys: string[] = [];
  const offsets: number[] = [];
  const sizes: number[] = [];
  const crc32s: number[] = [];
  for await (const s of readSamples(store.stream(shardUrl), shardUrl, bad)) {
    keys.push(s.key);
    offsets.push(s.offset);
    sizes.push(s.size);
    crc32s.push(sampleCrc32(s.files));
  }
  // The parser stops at the end-of-archive marker (or at damage), not at the last byte.
  const bytes = await store.size(shardUrl);
  return { format: 'fiber-shard-index', version: 1, shard: basename(shardUrl), shardBytes: bytes, keys, offsets, sizes, crc32s };
}

/** Serialise an index deterministically (same shard, same bytes). */
export function encodeShardIndex(index: ShardIndex): Buffer {
  return Buffer.from(`${JSON.stringify(index)}\n`, 'utf8');
}

export function parseShardIndex(text: string, where: string): ShardIndex {
  let v: Partial<ShardIndex>;
  try {
    v = JSON.parse(text) as Partial<ShardIndex>;
  } catch (err) {
    throw new StorageError(`${where} is not valid JSON; rebuild it with \`fiber data index\``, 'fiber.data.bad_index', { where }, { cause: err });
  }
  // Every field checked, not just present: a damaged index must fail here, typed, not as a
  // TypeError deep in a read (found by test/data/webdataset/readers-fuzz.test.ts).
  const ints = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
  const n = typeof v === 'object' && v !== null && Array.isArray(v.keys) && v.keys.every((k) => typeof k === 'string') ? v.keys.length : undefined;
  if (n === undefined || v.format !== 'fiber-shard-index' || v.version !== 1 || !ints(v.offsets, n) || !ints(v.sizes, n) || typeof v.shardBytes !== 'number' || (v.crc32s !== undefined && !ints(v.crc32s, n))) {
    throw new StorageError(`${where} is not a fiber shard index (version 1); rebuild it with \`fiber data index\``, 'fiber.data.bad_index', { where });
  }
  return v as ShardIndex;
}

export async function loadShardIndex(store: ObjectStore, shardUrl: string): Promise<ShardIndex> {
  const url = indexUrlFor(shardUrl);
  try {
    return parseShardIndex((await store.read(url)).toString('utf8'), url);
  } catch (err) {
    if (err instanceof StorageError && err.code === 'fiber.storage.not_found') {
      throw new StorageError(`no index for ${shardUrl} (looked for ${url}); build it with \`fiber data index ${shardUrl}\``, 'fiber.data.no_index', { shard: shardUrl }, { cause: err });
    }
    throw err;
  }
}

function basename(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}
