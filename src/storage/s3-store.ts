import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { StorageError } from '../errors/index.js';
import { forbiddenError, notFoundError, staleIndexError, type ByteRange } from './object-store.js';
import { isTransient, withRetry, type RetryConfig } from './retry.js';
import type { S3Config } from './s3-config.js';
import { parseS3Url } from './url.js';

/**
 * S3 and S3-compatible stores through the AWS SDK v3. The SDK's own retries are switched off
 * (maxAttempts 1) so that {@link withRetry} is the one policy, and a 404/403 fails at once.
 */
export class S3Store {
  private readonly client: S3Client;
  private readonly retry: RetryConfig;

  constructor(private readonly config: S3Config, retry: RetryConfig) {
    this.retry = { ...retry, maxAttempts: config.maxAttempts };
    const options: S3ClientConfig = {
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      maxAttempts: 1,
      // requestTimeout alone only logs a warning: throwOnRequestTimeout makes a hung request an
      // error we retry; socketTimeout covers a body that stops arriving after the headers.
      requestHandler: { requestTimeout: config.requestTimeoutMs, socketTimeout: config.requestTimeoutMs, throwOnRequestTimeout: true },
    };
    if (config.endpoint) {
      options.endpoint = config.endpoint;
      // S3-compatible stores (s3rver, older MinIO) mangle aws-chunked bodies with trailing
      // checksums and send no checksum headers: only compute/validate when S3 requires it.
      options.requestChecksumCalculation = 'WHEN_REQUIRED';
      options.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    if (config.credentials) options.credentials = { ...config.credentials };
    // The SDK warns on stderr, from every process, that its releases after January 2027 need
    // Node 22. fiber pins its SDK in package-lock.json, so users get no such release from us:
    // the nine lines only confuse a CLI's output. Raising the SDK means raising engines.node
    // (docs/notes.md). A user who sets the variable keeps their own choice.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client(options);
  }

  async size(url: string): Promise<number> {
    const { bucket, key } = parseS3Url(url);
    return this.call(bucket, key, undefined, async () => {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return res.ContentLength ?? 0;
    });
  }

  async read(url: string, range?: ByteRange): Promise<Buffer> {
    const { bucket, key } = parseS3Url(url);
    return this.call(bucket, key, range, async () => {
      const Range = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range }));
      const bytes = range ? await readBody(res.Body as AsyncIterable<Uint8Array> | undefined, range.length) : asBuffer((await res.Body?.transformToByteArray()) ?? new Uint8Array());
      const total = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1]);
      if (range && total < range.offset + range.length) throw staleIndexError(`s3://${bucket}/${key}`, range);
      if (range && bytes.length !== range.length) {
        // A truncated body is a dropped connection until proven otherwise: retry it.
        throw new StorageError(`s3://${bucket}/${key}: got ${bytes.length} of ${range.length} bytes`, 'fiber.storage.transient');
      }
      return bytes;
    });
  }

  async *stream(url: string): AsyncIterable<Uint8Array> {
    const { bucket, key } = parseS3Url(url);
    let pos = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: pos > 0 ? `bytes=${pos}-` : undefined }));
        for await (const chunk of res.Body as AsyncIterable<Uint8Array>) {
          pos += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        const mapped = mapError(bucket, key, err);
        if (!isTransient(mapped)) throw mapped;
        if (attempt >= this.retry.maxAttempts) throw gaveUp(bucket, key, attempt, mapped);
        await new Promise((r) => setTimeout(r, this.retry.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
      }
    }
  }

  async write(url: string, bytes: Uint8Array): Promise<void> {
    const { bucket, key } = parseS3Url(url);
    // A single PUT with a Buffer body is atomic on S3: readers see the old object or the new one.
    await this.call(bucket, key, undefined, async () => {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }));
    });
  }

  async list(prefixUrl: string): Promise<string[]> {
    const { bucket, key } = parseS3Url(`${prefixUrl.replace(/\/+$/, '')}/`);
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const res = await this.call(bucket, key, undefined, () => this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, Delimiter: '/', ContinuationToken: token })));
      for (const c of res.CommonPrefixes ?? []) if (c.Prefix) names.add(c.Prefix.slice(key.length).replace(/\/$/, ''));
      for (const o of res.Contents ?? []) if (o.Key) names.add(o.Key.slice(key.length));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return [...names].filter(Boolean).sort();
  }

  async remove(url: string): Promise<void> {
    const { bucket, key } = parseS3Url(url.replace(/\/+$/, ''));
    // The object itself, and anything under it as a prefix.
    let token: string | undefined;
    const keys = [key];
    do {
      const res = await this.call(bucket, key, undefined, () => this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${key}/`, ContinuationToken: token })));
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.call(bucket, key, undefined, () => this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })));
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async call<T>(bucket: string, key: string, range: ByteRange | undefined, fn: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await withRetry(async () => {
        attempts++;
        try {
          return await fn();
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (range && status === 416) throw staleIndexError(`s3://${bucket}/${key}`, range, err);
          throw mapError(bucket, key, err);
        }
      }, this.retry);
    } catch (err) {
      throw isTransient(err) ? gaveUp(bucket, key, attempts, err) : err;
    }
  }
}

/**
 * A transient failure that outlasted the retries: a StorageError naming the object (never the
 * credentials, which SDK messages do not carry), so it reaches status and logs typed, not as a
 * bare `SlowDown` from the SDK. Its code stays `fiber.storage.transient`: a command exits 75
 * (storage not reachable yet, src/cli/main.ts), and nothing retries it again.
 */
function gaveUp(bucket: string, key: string, attempts: number, err: unknown): StorageError {
  const e = err as { name?: string; message?: string };
  return new StorageError(`s3://${bucket}/${key}: gave up after ${attempts} attempts: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`,
    'fiber.storage.transient', { url: `s3://${bucket}/${key}`, attempts, cause: e.name }, { cause: err });
}

/** Turn SDK errors into ones that say which bucket, which key, and which setting to check. */
function mapError(bucket: string, key: string, err: unknown): unknown {
  if (err instanceof StorageError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const where = `s3://${bucket}/${key}`;
  if (status === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.name === 'NoSuchBucket') {
    return notFoundError(where, `check bucket "${bucket}" and key "${key}" in data.shards, and FIBER_S3_ENDPOINT if this is an S3-compatible store`, err);
  }
  if (status === 403 || status === 401 || e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch') {
    return forbiddenError(where, `check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the pod's IAM role) and the policy on bucket "${bucket}"`, err);
  }
  return err;
}

/** A Buffer over the same memory (Buffer.from(Uint8Array) would copy). */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * A ranged GET's body, copied once, chunk by chunk, into a buffer of the expected size (the SDK's
 * transformToByteArray concatenates, and wrapping that in a Buffer copied it again: two copies of
 * every shard byte on the hot path). A longer body is counted, not stored, so the caller sees its
 * true length and reports it.
 */
async function readBody(body: AsyncIterable<Uint8Array> | undefined, expected: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(expected);
  let n = 0;
  for await (const chunk of body ?? []) {
    if (n + chunk.length <= expected) out.set(chunk, n);
    n += chunk.length;
  }
  // Short (clipped at a stale index's end, or cut off): what arrived. Long (Range ignored): an error path, sized for the message.
  return n <= expected ? out.subarray(0, n) : Buffer.alloc(n);
}
