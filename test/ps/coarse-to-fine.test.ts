import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { DEFAULT_RETRY } from '../../src/storage/retry.js';
import { DEFAULT_S3_CONFIG } from '../../src/storage/s3-config.js';
import { packDataset } from '../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../src/data/packing/pack-sources.js';
import { loadNamedWeights } from '../../src/ps/checkpoint-io.js';
import { metricsKey } from '../../src/queue/keys.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, waitForStage } from '../helpers/cluster.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

/**
 * A coarse stage then a fine stage of fiber-tiny on packed coco-dev, with 2 shards and 2 workers,
 * shards and checkpoints on an S3-compatible server through the AWS SDK:
 * the fine stage waits for the coarse one, starts from its final checkpoint, keeps the shared
 * weights, drops the coarse heads, trains its own head, and both stages' losses fall.
 */
const coco = cocoDevDir();

describe('coarse then fine (real processes)', { skip: coco.skip, timeout: 900_000 }, () => {
  let redis: TestRedis;
  let s3: S3TestServer;
  let store: ObjectStore;
  let coarse: Record<string, string>;
  let fine: Record<string, string>;
  const STEPS = 50;

  before(async () => {
    redis = await startRedis();
    s3 = await startS3Server();
    store = createObjectStore({ s3: { ...DEFAULT_S3_CONFIG, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials }, retry: DEFAULT_RETRY });
    const input = await readCocoDevInput(join(coco.dir!, 'images'), join(coco.dir!, 'annotations.jsonl'));
    const packed = await packDataset(input, store, { out: `s3://${s3.bucket}/data`, samplesPerShard: 64 });
    const ckpt = `s3://${s3.bucket}/ckpt`;
    const sets = [
      `data.coarse.shards=${packed.coarse!.pattern}`, `data.fine.shards=${packed.fine!.pattern}`,
      `optimizer.coarse.totalSteps=${STEPS}`, `optimizer.fine.totalSteps=${STEPS}`, 'optimizer.fine.warmupSteps=4',
      'optimizer.coarse.lr=1e-3', 'optimizer.fine.lr=1e-3',
      'batch.coarse.globalBatch=4', 'batch.coarse.microBatch=2', 'batch.coarse.tasksPerStep=2',
      'batch.fine.globalBatch=4', 'batch.fine.microBatch=2', 'batch.fine.tasksPerStep=2',
      `checkpoint.uri=${ckpt}`, 'checkpoint.everySteps=20', 'checkpoint.keepLast=10',
    ].flatMap((s) => ['--set', s]);
    const cluster = startCluster(redis.url, 2, 2, s3.env);
    try {
      for (const stage of ['coarse', 'fine'] as const) {
        const res = await runFiber(['pretrain', '--stage', stage, '--preset', 'fiber-tiny', '--run', 'c2f', ...sets], { FIBER_REDIS_URL: redis.url, ...s3.env });
        assert.equal(res.code, 0, res.stderr);
      }
      coarse = await waitForStage(redis.client, 'c2f', 'coarse', 800_000);
      fine = await waitForStage(redis.client, 'c2f', 'fine', 800_000);
      assert.equal(coarse.state, 'completed', `${coarse.error}\n${cluster.logs()}`);
      assert.equal(fine.state, 'completed', `${fine.error}\n${cluster.logs()}`);
    } finally {
      await cluster.stop();
    }
  });
  after(async () => {
    await store.close();
    await s3.close();
    await redis.close();
  });

  it('the fine stage starts from the coarse checkpoint: shared weights equal, coarse heads dropped', async () => {
    assert.equal(fine.init, coarse.checkpoint);
    const c = await loadNamedWeights(store, coarse.checkpoint!);
    assert.match(coarse.checkpoint!, /^s3:\/\//);
    const f0 = await loadNamedWeights(store, `s3://${s3.bucket}/ckpt/c2f/fine/step-00000000`);
    const shared = [...f0.keys()].filter((k) => c.has(k));
    assert.ok(shared.some((k) => k.startsWith('vit_model.')) && shared.some((k) => k.startsWith('text_transformer.')) && shared.some((k) => k.includes('i2t')) && shared.some((k) => k.includes('t2i')));
    for (const k of shared) assert.deepEqual(Buffer.from(f0.get(k)!.buffer), Buffer.from(c.get(k)!.buffer), `${k} carried over bit for bit`);
    const coarseOnly = [...c.keys()].filter((k) => !f0.has(k));
    const fineOnly = [...f0.keys()].filter((k) => !c.has(k));
    assert.ok(coarseOnly.some((k) => k.includes('itm') || k.includes('mlm')), `coarse heads dropped: ${coarseOnly.slice(0, 5).join(', ')}`);
    assert.ok(fineOnly.length > 0, 'the fine head is new');
    const fEnd = await loadNamedWeights(store, fine.checkpoint!);
    assert.ok(fineOnly.some((k) => !Buffer.from(fEnd.get(k)!.buffer).equals(Buffer.from(f0.get(k)!.buffer))), 'the fine head was trained');
  });

  it('the loss falls in both stages', async () => {
    for (const stage of ['coarse', 'fine'] as const) {
      const steps = (await redis.client.lrange(metricsKey('c2f', stage), 0, -1)).map((l) => JSON.parse(l) as { step: number; losses: { total: number } });
      assert.equal(steps.length, STEPS);
      const mean = (xs: typeof steps) => xs.reduce((a, s) => a + s.losses.total, 0) / xs.length;
      const first = mean(steps.slice(0, 5));
      const last = mean(steps.slice(-5));
      assert.ok(last < first * 0.9, `${stage}: mean loss of the first 5 steps ${first.toFixed(3)}, of the last 5 ${last.toFixed(3)}`);
    }
  });
});
