import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { DEFAULT_RETRY, isTransient, withRetry } from '../../src/storage/retry.js';
import { s3ConfigFromEnv } from '../../src/storage/s3-config.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

let s3: S3TestServer;
let store: ObjectStore;
let dir: string;
const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
const fastRetry = { ...DEFAULT_RETRY, baseDelayMs: 1, maxDelayMs: 5 };

before(async () => {
  s3 = await startS3Server();
  store = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: s3.endpoint }), credentials: s3.credentials }, retry: fastRetry });
  dir = await mkdtemp(join(tmpdir(), 'fiber-store-'));
});
after(async () => {
  await store.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

test('s3ConfigFromEnv: endpoint implies path style; region fallbacks', () => {
  assert.deepEqual(
    { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: 'http://x:1', AWS_DEFAULT_REGION: 'eu-west-1' }) },
    { region: 'eu-west-1', forcePathStyle: true, maxAttempts: 5, requestTimeoutMs: 30000, endpoint: 'http://x:1' },
  );
  assert.equal(s3ConfigFromEnv({}).forcePathStyle, false);
  assert.equal(s3ConfigFromEnv({ FIBER_S3_ENDPOINT: 'http://x', FIBER_S3_FORCE_PATH_STYLE: '0' }).forcePathStyle, false);
});

test('s3 (real s3rver + AWS SDK): write, size, whole and ranged reads are byte-exact', async () => {
  const url = `s3://${s3.bucket}/dir/obj.bin`;
  await store.write(url, bytes);
  assert.equal(await store.size(url), 3000);
  assert.deepEqual(await store.read(url), bytes);
  assert.deepEqual(await store.read(url, { offset: 1000, length: 777 }), bytes.subarray(1000, 1777));
  const chunks: Buffer[] = [];
  for await (const c of store.stream(url)) chunks.push(Buffer.from(c));
  assert.deepEqual(Buffer.concat(chunks), bytes);
});

test('s3 404 and 403 fail fast naming bucket, key and the setting to fix', async () => {
  const t0 = Date.now();
  await assert.rejects(store.read(`s3://${s3.bucket}/missing.tar`), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'fiber.storage.not_found');
    assert.match(err.message, /fiber-test/);
    assert.match(err.message, /missing\.tar/);
    assert.match(err.message, /FIBER_S3_ENDPOINT/);
    return true;
  });
  const badCreds = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: s3.endpoint }), credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' } }, retry: fastRetry });
  await assert.rejects(badCreds.read(`s3://${s3.bucket}/dir/obj.bin`), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'fiber.storage.forbidden');
    assert.match(err.message, /AWS_ACCESS_KEY_ID/);
    assert.doesNotMatch(err.message, /WRONG/, 'never print credentials');
    return true;
  });
  await badCreds.close();
  assert.ok(Date.now() - t0 < 5000, 'no retries for permanent errors');
});

test('file store: atomic write, ranged read, not found', async () => {
  const url = `file://${dir}/a/b.bin`;
  await store.write(url, bytes);
  assert.deepEqual(await store.read(`${dir}/a/b.bin`, { offset: 5, length: 10 }), bytes.subarray(5, 15));
  await assert.rejects(store.read(`${dir}/nope`), { code: 'fiber.storage.not_found' });
});

test('http store: ranged GET, retries 503 with backoff, 404 fails fast', async () => {
  let failures = 2;
  let ranges = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/missing') return void res.writeHead(404).end();
    if (failures-- > 0) return void res.writeHead(503).end();
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (m) {
      ranges++;
      const a = Number(m[1]);
      const b = Number(m[2]);
      return void res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${bytes.length}` }).end(bytes.subarray(a, b + 1));
    }
    res.writeHead(200, { 'content-length': bytes.length }).end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    assert.deepEqual(await store.read(`${base}/x`, { offset: 10, length: 20 }), bytes.subarray(10, 30));
    assert.equal(ranges, 1);
    assert.equal(await store.size(`${base}/x`), 3000);
    await assert.rejects(store.read(`${base}/missing`), { code: 'fiber.storage.not_found' });
    await assert.rejects(store.write(`${base}/x`, bytes), { code: 'fiber.data.read_only' });
  } finally {
    server.close();
  }
});

test('withRetry retries only transient errors', async () => {
  let n = 0;
  const v = await withRetry(async () => {
    if (++n < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    return 42;
  }, fastRetry);
  assert.equal(v, 42);
  assert.equal(n, 3);
  assert.equal(isTransient({ $metadata: { httpStatusCode: 503 } }), true);
  assert.equal(isTransient({ name: 'SlowDown' }), true);
  assert.equal(isTransient({ $metadata: { httpStatusCode: 404 } }), false);
  let m = 0;
  await assert.rejects(withRetry(async () => {
    m++;
    throw Object.assign(new Error('nope'), { $metadata: { httpStatusCode: 403 } });
  }, fastRetry));
  assert.equal(m, 1);
});
