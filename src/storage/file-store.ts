import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../errors/index.js';
import { notFoundError, staleIndexError, type ByteRange } from './object-store.js';

/** `file:///a/b` or a plain path -> filesystem path. */
export function filePath(url: string): string {
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

/** Local files: the same contract as S3, for tests, single machines and shared filesystems. */
export class FileStore {
  async size(url: string): Promise<number> {
    return guard(url, async () => (await stat(filePath(url))).size);
  }

  async read(url: string, range?: ByteRange): Promise<Buffer> {
    return guard(url, async () => {
      if (!range) return readFile(filePath(url));
      const fh = await open(filePath(url), 'r');
      try {
        const buf = Buffer.alloc(range.length);
        const { bytesRead } = await fh.read(buf, 0, range.length, range.offset);
        if (bytesRead !== range.length) throw staleIndexError(filePath(url), range);
        return buf;
      } finally {
        await fh.close();
      }
    });
  }

  async *stream(url: string): AsyncIterable<Uint8Array> {
    await this.size(url); // a clear not-found error before streaming starts
    yield* createReadStream(filePath(url), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  }

  async write(url: string, bytes: Uint8Array): Promise<void> {
    const path = filePath(url);
    await mkdir(dirname(path), { recursive: true });
    // Write beside the target, then rename: a reader sees the old file or the new one, never half.
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }

  async list(prefixUrl: string): Promise<string[]> {
    try {
      return (await readdir(filePath(prefixUrl))).filter((n) => !n.endsWith('.tmp')).sort();
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return [];
      throw err;
    }
  }

  async remove(url: string): Promise<void> {
    await rm(filePath(url), { recursive: true, force: true });
  }
}

async function guard<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw notFoundError(filePath(url), 'check the shard URL or path (data.shards)', err);
    if (code === 'EACCES') throw new StorageError(`permission denied reading ${filePath(url)}`, 'fiber.storage.forbidden', {}, { cause: err });
    throw err;
  }
}
