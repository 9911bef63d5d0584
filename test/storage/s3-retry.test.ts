import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { DEFAULT_RETRY } from '../../src/storage/retry.js';
import { s3ConfigFromEnv } from '../../src/storage/s3-config.js';
import { startS3FaultProxy, type S3Fault, type S3FaultProxy } from '../helpers/s3-fault-proxy.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

/**
 * GETs through a proxy in front of the real s3rver that fails them the way S3 does under load:
 * 503 SlowDown, 500 InternalError, or a connection reset mid-response (test/helpers/s3-fault-proxy.ts).
 */
let s3: S3TestServer;
let proxy: S3FaultProxy;
let store: ObjectStore;
const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));
const failGets = (...faults: S3Fault[]) => {
  proxy.reset();
  proxy.inject(...faults.map((fault) => ({ method: 'GET', fault })));
};
const gets = () => proxy.requests.filter((r) => r.startsWith('GET')).length;

before(async () => {
  s3 = await startS3Server();
  proxy = await startS3FaultProxy(s3.endpoint);
  store = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: proxy.endpoint }), credentials: s3.credentials, requestTimeoutMs: 400 }, retry: { ...DEFAULT_RETRY, baseDelayMs: 5, maxDelayMs: 20 } });
  await store.write(`s3://${s3.bucket}/retry/obj.bin`, payload);
});
after(async () => {
  await store.close();
  await proxy.close();
  await s3.close();
});

test('ranged GETs survive SlowDown, InternalError and a reset mid-body (real SDK errors, retried with backoff)', async () => {
  failGets('slowdown', 'internal', 'reset');
  const got = await store.read(`s3://${s3.bucket}/retry/obj.bin`, { offset: 1000, length: 150_000 });
  assert.deepEqual(got, payload.subarray(1000, 151_000));
  assert.equal(gets(), 4, 'three failures, then success');
});

test('a request that hangs times out and is retried', async () => {
  failGets('hang');
  const t0 = Date.now();
  const got = await store.read(`s3://${s3.bucket}/retry/obj.bin`, { offset: 10, length: 20 });
  assert.deepEqual(got, payload.subarray(10, 30));
  assert.equal(gets(), 2);
  assert.ok(Date.now() - t0 >= 350, 'waited for the timeout');
});

test('a whole-object stream resumes after a reset from the byte it reached', async () => {
  failGets('reset');
  const chunks: Buffer[] = [];
  for await (const c of store.stream(`s3://${s3.bucket}/retry/obj.bin`)) chunks.push(Buffer.from(c));
  assert.deepEqual(Buffer.concat(chunks), payload);
  assert.equal(gets(), 2);
});

test('retries are bounded: persistent throttling fails after maxAttempts', async () => {
  proxy.reset();
  proxy.inject({ method: 'GET', fault: 'slowdown', times: 10 });
  await assert.rejects(store.read(`s3://${s3.bucket}/retry/obj.bin`, { offset: 0, length: 10 }), (err: Error & { name?: string }) => err.name === 'SlowDown' || /SlowDown|503/.test(String(err)));
  assert.equal(gets(), DEFAULT_RETRY.maxAttempts);
  proxy.reset();
});
