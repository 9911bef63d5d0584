import { StorageError } from '../errors/index.js';
import { redactUrl } from '../log/redact.js';
import { forbiddenError, notFoundError, readOnlyError, staleIndexError, type ByteRange } from './object-store.js';
import { isTransient, withRetry, type RetryConfig } from './retry.js';

/** Read-only http(s) shards (a CDN, a static bucket website), with ranged GETs and retries. */
export class HttpStore {
  constructor(private readonly retry: RetryConfig) {}

  async size(url: string): Promise<number> {
    return withRetry(async () => {
      const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(30_000) });
      check(url, res);
      const len = Number(res.headers.get('content-length'));
      if (!Number.isFinite(len)) throw new StorageError(`${redactUrl(url)}: server sent no Content-Length`, 'fiber.storage.failed');
      return len;
    }, this.retry);
  }

  async read(url: string, range?: ByteRange): Promise<Buffer> {
    return withRetry(async () => {
      const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
      if (range && res.status === 416) throw staleIndexError(redactUrl(url), range);
      check(url, res);
      const buf = Buffer.from(await res.arrayBuffer());
      if (range && res.status !== 206) {
        // A server that ignores Range sends the whole object: take our slice of it.
        return buf.subarray(range.offset, range.offset + range.length);
      }
      const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
      if (range && total < range.offset + range.length) throw staleIndexError(redactUrl(url), range);
      if (range && buf.length !== range.length) throw new StorageError(`${redactUrl(url)}: short ranged read`, 'fiber.storage.transient');
      return buf;
    }, this.retry);
  }

  async *stream(url: string): AsyncIterable<Uint8Array> {
    let pos = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(url, { headers: pos > 0 ? { range: `bytes=${pos}-` } : {}, signal: AbortSignal.timeout(600_000) });
        check(url, res);
        if (!res.body) return;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          pos += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        if (!isTransient(err) || attempt >= this.retry.maxAttempts) throw err;
        await new Promise((r) => setTimeout(r, this.retry.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
      }
    }
  }

  async write(url: string): Promise<void> {
    throw readOnlyError(url);
  }

  async list(url: string): Promise<string[]> {
    throw readOnlyError(url);
  }

  async remove(url: string): Promise<void> {
    throw readOnlyError(url);
  }
}

function check(url: string, res: Response): void {
  if (res.ok) return;
  const where = redactUrl(url);
  if (res.status === 404) throw notFoundError(where, 'check the shard URL (data.shards)');
  if (res.status === 401 || res.status === 403) throw forbiddenError(where, 'the server refused the request; check the URL and its access rules');
  const code = res.status >= 500 || res.status === 429 ? 'fiber.storage.transient' : 'fiber.storage.failed';
  throw new StorageError(`${where}: HTTP ${res.status}`, code, { status: res.status });
}
