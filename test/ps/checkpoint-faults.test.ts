import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { s3ConfigFromEnv } from '../../src/storage/s3-config.js';
import { isFiberError } from '../../src/errors/index.js';
import { CHECKPOINT_FORMAT, stageDir, stepDirName, type CheckpointManifest } from '../../src/ps/checkpoint-layout.js';
import { commitCheckpoint, loadFlatRange, readLatest, resolveCheckpoint, writeShardFile } from '../../src/ps/checkpoint-io.js';
import { auditRunLedger } from '../../src/ps/audit-ledger.js';
import type { ServerParamSpec } from '../../src/model/param-spec.js';
import { planLayout } from '../../src/stage/shard-layout.js';
import { startS3FaultProxy, type S3FaultProxy } from '../helpers/s3-fault-proxy.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

/**
 * Checkpoint writes against the real S3 server through a fault-injecting proxy: transient faults
 * on a PUT are retried (a cut-off upload included), a persistent one surfaces after the bounded
 * attempts naming the object and no secret, and a checkpoint whose manifest never arrived is
 * never read: `latest` still names the previous one, which a restarted stage resumes from.
 */
const specs: ServerParamSpec[] = [
  { name: 'a.weight', shape: [64, 40], group: 'backbone', noDecay: false },
  { name: 'b.bias', shape: [3], group: 'head', noDecay: true },
];
const layout = planLayout(specs, 2);
const ATTEMPTS = 3;

describe('S3 faults during checkpoint writes', () => {
  let s3: S3TestServer;
  let proxy: S3FaultProxy;
  let store: ObjectStore;
  let dir = '';

  before(async () => {
    s3 = await startS3Server();
    proxy = await startS3FaultProxy(s3.endpoint);
    store = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: proxy.endpoint }), credentials: s3.credentials, requestTimeoutMs: 2000, maxAttempts: ATTEMPTS }, retry: { maxAttempts: ATTEMPTS, baseDelayMs: 5, maxDelayMs: 20 } });
    dir = stageDir(`s3://${s3.bucket}/ckpt`, 'run1', 'coarse');
  });
  after(async () => {
    await store.close();
    await proxy.close();
    await s3.close();
  });
  beforeEach(() => proxy.reset());

  /** Shard files, then manifest and `latest`: the coordinator's order. */
  async function checkpoint(step: number): Promise<Float32Array> {
    const flat = Float32Array.from({ length: layout.totalElements }, (_, i) => step * 1000 + i);
    const stepDir = `${dir}/${stepDirName(step)}`;
    const files = [];
    for (let s = 0; s < 2; s++) {
      const part = flat.subarray(layout.shardStarts[s], layout.shardStarts[s + 1]);
      files.push(await writeShardFile(store, stepDir, specs, layout, s, { params: part, expAvg: part, expAvgSq: part }, step));
    }
    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT, run: 'run1', stage: 'coarse', step, configHash: 'h', config: {}, numShards: 2, totalElements: layout.totalElements,
      params: specs.map((p) => ({ name: p.name, shape: p.shape })), files, model: null, dataCursor: { nextStep: step }, seeds: { seed: 0 }, init: null, createdAt: new Date(0).toISOString(),
    };
    await commitCheckpoint(store, dir, stepDirName(step), manifest);
    return flat;
  }

  it('a shard file PUT that fails (SlowDown, a cut-off upload, InternalError) is retried and lands whole', async () => {
    proxy.inject({ method: 'PUT', path: 'shard-0-of-2', fault: 'slowdown' }, { method: 'PUT', path: 'shard-1-of-2', fault: { cutUpload: 4096 } },
      { method: 'PUT', path: 'manifest.json', fault: 'internal' });
    const flat = await checkpoint(10);
    assert.equal(proxy.requests.filter((r) => r.startsWith('PUT')).length, 4 + 3, 'four PUTs, three of them twice');
    const latest = await readLatest(store, dir);
    assert.equal(latest?.manifest.step, 10);
    const back = await loadFlatRange(store, latest!.stepDir, latest!.manifest, 0, layout.totalElements);
    assert.deepEqual(back.params, flat, 'the sha256 in the manifest matched every file');
  });

  it('a manifest PUT that keeps failing surfaces after the bound, naming the object and no secret; the half-written checkpoint is never read', async () => {
    proxy.inject({ method: 'PUT', path: `${stepDirName(20)}/manifest.json`, fault: 'slowdown', times: 100 });
    await assert.rejects(checkpoint(20), (err: unknown) => {
      assert.ok(isFiberError(err), String(err));
      assert.match(err.message, new RegExp(`${s3.bucket}.*${stepDirName(20)}/manifest\\.json`));
      assert.doesNotMatch(`${err.message} ${JSON.stringify(err.details)}`, /S3RVER/, 'no credential in the error');
      return true;
    });
    assert.equal(proxy.requests.filter((r) => r.includes(`${stepDirName(20)}/manifest.json`)).length, ATTEMPTS, 'bounded retries');
    assert.ok(proxy.requests.some((r) => r.includes(`${stepDirName(20)}/shard-1-of-2`)), 'the shard files were written before it');
    // Readers go latest -> manifest: the stage resumes from step 10, and step 20's files are not a checkpoint.
    const latest = await readLatest(store, dir);
    assert.equal(latest?.manifest.step, 10);
    await assert.rejects(resolveCheckpoint(store, `${dir}/${stepDirName(20)}`), (err: unknown) => isFiberError(err) && err.code === 'fiber.checkpoint.not_found');
    const [audit] = await auditRunLedger(store, `s3://${s3.bucket}/ckpt`, 'run1', { verify: false, stages: ['coarse'] });
    assert.deepEqual(audit!.checkpoints.map((c) => c.step), [10], 'the manifest-less step directory is skipped, not trusted');
  });

  it('a `latest` PUT cut off mid-upload is retried; until it lands the previous pointer stands', async () => {
    proxy.inject({ method: 'PUT', path: '/latest', fault: { cutUpload: 1 } });
    await checkpoint(30);
    assert.equal((await readLatest(store, dir))?.manifest.step, 30);
    assert.equal(proxy.requests.filter((r) => r.startsWith('PUT') && r.endsWith('/latest')).length, 2, 'cut once, then whole');
  });
});
