import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { DEFAULT_RETRY } from '../../src/storage/retry.js';
import { s3ConfigFromEnv } from '../../src/storage/s3-config.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

/**
 * A proxy in front of the real s3rver that fails the next GETs the way S3 does under load:
 * 503 SlowDown, 500 InternalError, or a connection reset mid-response. Everything else is
 * forwarded unchanged, so the real AWS SDK parses real responses and real errors.
 */
let s3: S3TestServer;
let proxy: Server;
let store: ObjectStore;
let faults: Array<'slowdown' | 'internal' | 'reset' | 'hang'> = [];
let gets = 0;
const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));

before(async () => {
  s3 = await startS3Server();
  const target = new URL(s3.endpoint);
  proxy = createServer((req, res) => {
    if (req.method === 'GET') gets++;
    const fault = req.method === 'GET' ? faults.shift() : undefined;
    if (fault === 'hang') return; // never answer: the client's request timeout must fire
    if (fault === 'slowdown' || fault === 'internal') {
      const [status, code] = fault === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
      return;
    }
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (fault === 'reset') {
        // Send the headers and a little of the body, then drop the connection.
        upRes.once('data', (chunk: Buffer) => {
          res.write(chunk.subarray(0, 100));
          setTimeout(() => res.socket?.destroy(), 5);
        });
        return;
      }
      upRes.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  store = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: endpoint }), credentials: s3.credentials, requestTimeoutMs: 400 }, retry: { ...DEFAULT_RETRY, baseDelayMs: 5, maxDelayMs: 20 } });
  await store.write(`s3://${s3.bucket}/retry/obj.bin`, payload);
});
after(async () => {
  await store.close();
  proxy.closeAllConnections();
  proxy.close();
  await s3.close();
});

test('ranged GETs survive SlowDown, InternalError and a reset mid-body (real SDK errors, retried with backoff)', async () => {
  faults = ['slowdown', 'internal', 'reset'];
  gets = 0;
  const got = await store.read(`s3://${s3.bucket}/retry/obj.bin`, { offset: 1000, length: 150_000 });
  assert.deepEqual(got, payload.subarray(1000, 151_000));
  assert.equal(gets, 4, 'three failures, then success');
});

test('a request that hangs times out and is retried', async () => {
  faults = ['hang'];
  gets = 0;
  const t0 = Date.now();
  const got = await store.read(`s3://${s3.bucket}/retry/obj.bin`, { offset: 10, length: 20 });
  assert.deepEqual(got, payload.subarray(10, 30));
  assert.equal(gets, 2);
  assert.ok(Date.now() - t0 >= 350, 'waited for the timeout');
});

test('a whole-object stream resumes after a reset from the byte it reached', async () => {
  faults = ['reset'];
  gets = 0;
  const chunks: Buffer[] = [];
  for await (const c of store.stream(`s3://${s3.bucket}/retry/obj.bin`)) chunks.push(Buffer.from(c));
  assert.deepEqual(Buffer.concat(chunks), payload);
  assert.equal(gets, 2);
});

test('retries are bounded: persistent throttling fails after maxAttempts', async () => {
  faults = Array(10).fill('slowdown');
  gets = 0;
  await assert.rejects(store.read(`s3://${s3.bucket}/retry/obj.bin`, { offset: 0, length: 10 }), (err: Error & { name?: string }) => err.name === 'SlowDown' || /SlowDown|503/.test(String(err)));
  assert.equal(gets, DEFAULT_RETRY.maxAttempts);
  faults = [];
});
