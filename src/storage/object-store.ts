import { StorageError, UsageError } from '../errors/index.js';
import { DEFAULT_RETRY, type RetryConfig } from './retry.js';
import type { S3Config } from './s3-config.js';
import { DEFAULT_S3_CONFIG } from './s3-config.js';
import { schemeOf, type UrlScheme } from './url.js';

/** A byte range of an object: `length` bytes starting at `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * The minimal storage surface the data path needs, keyed by URL. Every implementation retries
 * transient failures itself and throws StorageError with code `fiber.storage.not_found` or
 * `fiber.storage.forbidden` (fast, no retry) naming what to fix.
 */
export interface ObjectStore {
  /** Object size in bytes. */
  size(url: string): Promise<number>;
  /** The whole object, or just `range` (one ranged GET; never a suffix range, which some emulators get wrong). */
  read(url: string, range?: ByteRange): Promise<Buffer>;
  /** The whole object as a sequence of chunks; a connection dropped mid-way resumes from the last byte received. */
  stream(url: string): AsyncIterable<Uint8Array>;
  /** Write a whole object; readers never see a partial one (tmp + rename locally, single PUT on S3). */
  write(url: string, bytes: Uint8Array): Promise<void>;
  /** Names directly under a directory-like prefix (objects and sub-prefixes, sorted); [] if none. */
  list(prefixUrl: string): Promise<string[]>;
  /** Delete an object or everything under a prefix; absent is fine (checkpoint pruning). */
  remove(url: string): Promise<void>;
  /** Release connections. */
  close(): Promise<void>;
}

/** Settings for {@link createObjectStore}. */
export interface ObjectStoreConfig {
  readonly s3: S3Config;
  readonly retry: RetryConfig;
}

export const DEFAULT_OBJECT_STORE_CONFIG: ObjectStoreConfig = { s3: DEFAULT_S3_CONFIG, retry: DEFAULT_RETRY };

type SchemeStore = Omit<ObjectStore, 'close'> & { close?(): Promise<void> };

/**
 * One store for all schemes; each backend is imported on first use, so a command that only reads
 * local files never loads the AWS SDK.
 */
export function createObjectStore(config: ObjectStoreConfig = DEFAULT_OBJECT_STORE_CONFIG): ObjectStore {
  const backends = new Map<UrlScheme, Promise<SchemeStore>>();
  const backend = (url: string): Promise<SchemeStore> => {
    const scheme = schemeOf(url);
    let b = backends.get(scheme);
    if (!b) {
      b = load(scheme, config);
      backends.set(scheme, b);
    }
    return b;
  };
  return {
    size: async (url) => (await backend(url)).size(url),
    read: async (url, range) => (await backend(url)).read(url, range),
    stream: (url) => ({
      async *[Symbol.asyncIterator]() {
        yield* (await backend(url)).stream(url);
      },
    }),
    write: async (url, bytes) => (await backend(url)).write(url, bytes),
    list: async (url) => (await backend(url)).list(url),
    remove: async (url) => (await backend(url)).remove(url),
    close: async () => {
      for (const b of backends.values()) await (await b).close?.();
      backends.clear();
    },
  };
}

async function load(scheme: UrlScheme, config: ObjectStoreConfig): Promise<SchemeStore> {
  switch (scheme) {
    case 'file':
      return new (await import('./file-store.js')).FileStore();
    case 'http':
      return new (await import('./http-store.js')).HttpStore(config.retry);
    case 's3':
      return new (await import('./s3-store.js')).S3Store(config.s3, config.retry);
  }
}

/** Storage errors that retries cannot fix, with the setting a person should look at. */
export function notFoundError(where: string, hint: string, cause?: unknown): StorageError {
  return new StorageError(`${where} does not exist; ${hint}`, 'fiber.storage.not_found', { where }, { cause });
}

export function forbiddenError(where: string, hint: string, cause?: unknown): StorageError {
  return new StorageError(`access to ${where} was denied; ${hint}`, 'fiber.storage.forbidden', { where }, { cause });
}

/** A ranged read past the end of the object: the shard is shorter than its index says. */
export function staleIndexError(where: string, range: ByteRange, cause?: unknown): StorageError {
  return new StorageError(
    `${where} is shorter than its index says (wanted bytes ${range.offset}-${range.offset + range.length - 1}); the shard was replaced or truncated: rebuild its index with \`fiber data index\` or re-upload it`,
    'fiber.data.stale_index', { where }, { cause });
}

export function readOnlyError(url: string): UsageError {
  return new UsageError(`cannot write to ${url}: http(s) sources are read-only (write to s3:// or a local path)`, 'fiber.data.read_only');
}
