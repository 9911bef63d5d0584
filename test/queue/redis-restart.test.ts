import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore } from '../../src/storage/object-store.js';
import { packDataset } from '../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../src/data/packing/pack-sources.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, waitForStage, type Cluster } from '../helpers/cluster.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { startPersistentRedis, type PersistentRedis } from '../helpers/persistent-redis.js';

/**
 * Issue 17 item 3, with real processes (fiber-tiny, 1 shard, 1 worker, file checkpoints) and a
 * Redis persisted as the k8s manifest configures it (AOF, everysec): restarted mid-stage the run
 * goes on; lost entirely, `fiber resume --checkpoints` continues it from storage alone. Both end
 * bit-identical to an undisturbed run, and the ledger proves every sample was read once.
 */
const coco = cocoDevDir();

describe('Redis restarted or lost mid-stage (real processes)', { skip: coco.skip, timeout: 300_000 }, () => {
  let redis: PersistentRedis;
  let cluster: Cluster | null = null;
  const root = mkdtempSync(join(tmpdir(), 'fiber-redis-loss-'));
  const ckpt = join(root, 'ckpt');
  let sets: string[] = [];
  const env = () => ({ FIBER_REDIS_URL: redis.url });
  const STEPS = 4;
  const startServices = () => startCluster(redis.url, 1, 1, { FIBER_TASK_LOCK_MS: '4000' });

  before(async () => {
    redis = await startPersistentRedis(join(root, 'redis'));
    const store = createObjectStore();
    const input = await readCocoDevInput(join(coco.dir!, 'images'), join(coco.dir!, 'annotations.jsonl'));
    const packed = await packDataset(input, store, { out: join(root, 'data'), samplesPerShard: 32 });
    await store.close();
    sets = [
      `data.coarse.shards=${packed.coarse!.pattern}`, `optimizer.coarse.totalSteps=${STEPS}`,
      'batch.coarse.globalBatch=4', 'batch.coarse.microBatch=2', 'batch.coarse.tasksPerStep=2',
      `checkpoint.uri=${ckpt}`, 'checkpoint.everySteps=1', 'optimizer.coarse.gradClipNorm=1',
    ].flatMap((s) => ['--set', s]);
    cluster = startServices();
  });
  after(async () => {
    await cluster?.stop();
    await redis.close();
    rmSync(root, { recursive: true, force: true });
  });

  const submit = (run: string) => runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', run, ...sets], env());
  const finalSha = (checkpoint: string) => (JSON.parse(readFileSync(join(checkpoint, 'manifest.json'), 'utf8')) as { model: { sha256: string } }).model.sha256;
  const untilStep = async (run: string, step: number) => {
    for (let i = 0; ; i++) {
      const at = Number(await redis.client.hget(`fiber:registry:run:${run}:stage:coarse`, 'step'));
      if (at >= step) {
        assert.ok(at < STEPS, `${run} already at step ${at}: the fault must strike mid-stage`);
        return;
      }
      assert.ok(i < 3000, `${run} never reached step ${step}\n${cluster!.logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const ledgerOk = async (run: string) => {
    const audit = await runFiber(['ledger', run, '--checkpoints', ckpt, '--verify', '--json']);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
    const report = JSON.parse(audit.stdout) as { ok: boolean; stages: Array<{ samples: number; idsVerified: boolean }> };
    assert.equal(report.ok, true);
    assert.equal(report.stages[0]!.samples, STEPS * 4, 'every sample of every step, once');
    assert.equal(report.stages[0]!.idsVerified, true);
  };

  let reference = '';

  it('an undisturbed run: the reference bits', async () => {
    assert.equal((await submit('ref')).code, 0);
    const stage = await waitForStage(redis.client, 'ref', 'coarse', 120_000);
    assert.equal(stage.state, 'completed', `${stage.error}\n${cluster!.logs()}`);
    reference = finalSha(stage.checkpoint!);
    assert.match(reference, /^[0-9a-f]{64}$/);
  });

  it('Redis restarted mid-stage (SIGTERM, AOF everysec, same port): the run continues, same bits', async () => {
    assert.equal((await submit('restart')).code, 0);
    await untilStep('restart', 1);
    await redis.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000)); // down long enough for every client to notice
    await redis.start();
    const stage = await waitForStage(redis.client, 'restart', 'coarse', 120_000);
    assert.equal(stage.state, 'completed', `${stage.error}\n${cluster!.logs()}`);
    assert.equal(finalSha(stage.checkpoint!), reference, 'bit-identical to the undisturbed run');
    await ledgerOk('restart');
  });

  it('Redis lost entirely (killed, data wiped, empty on the same port): `fiber resume --checkpoints` continues from storage, same bits', async () => {
    assert.equal((await submit('lost')).code, 0);
    await untilStep('lost', 2);
    await redis.stop('SIGKILL');
    redis.wipe();
    await redis.start();
    assert.equal(await redis.client.dbsize(), 0, 'nothing survived');
    // As an operator would: restart the services against the empty Redis, then resume the run.
    await cluster!.stop();
    cluster = startServices();
    const resumed = await runFiber(['resume', 'lost', '--checkpoints', ckpt, '--json'], env());
    assert.equal(resumed.code, 0, resumed.stderr);
    const out = JSON.parse(resumed.stdout) as { restored: boolean; fromStep: number };
    assert.equal(out.restored, true);
    assert.ok(out.fromStep >= 1 && out.fromStep < STEPS, `resumed from step ${out.fromStep}`);
    const stage = await waitForStage(redis.client, 'lost', 'coarse', 120_000);
    assert.equal(stage.state, 'completed', `${stage.error}\n${cluster.logs()}`);
    assert.equal(finalSha(stage.checkpoint!), reference, 'bit-identical to the undisturbed run');
    await ledgerOk('lost');
  });
});
