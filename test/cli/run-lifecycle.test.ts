import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore } from '../../src/storage/object-store.js';
import { packDataset } from '../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../src/data/packing/pack-sources.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, waitForStage, type Cluster } from '../helpers/cluster.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * Issue 15's lifecycle with real processes (fiber-tiny, 1 shard, 1 worker, file checkpoints): a
 * stage cancelled mid-way, Redis then wiped, `fiber resume --checkpoints` rebuilds the run from
 * its checkpoints and finishes it with the same bits as an uninterrupted run; the history beside
 * the checkpoints has every step once and `fiber report` reads it without Redis.
 */
const coco = cocoDevDir();

describe('run lifecycle: cancel, lose Redis, resume (real processes)', { skip: coco.skip, timeout: 600_000 }, () => {
  let redis: TestRedis;
  let cluster: Cluster | null = null;
  const root = mkdtempSync(join(tmpdir(), 'fiber-life-'));
  const ckpt = join(root, 'ckpt');
  let sets: string[] = [];
  const env = () => ({ FIBER_REDIS_URL: redis.url });
  const STEPS = 3;

  before(async () => {
    redis = await startRedis();
    const store = createObjectStore();
    const input = await readCocoDevInput(join(coco.dir!, 'images'), join(coco.dir!, 'annotations.jsonl'));
    const packed = await packDataset(input, store, { out: join(root, 'data'), samplesPerShard: 32 });
    await store.close();
    sets = [
      `data.coarse.shards=${packed.coarse!.pattern}`, `optimizer.coarse.totalSteps=${STEPS}`,
      'batch.coarse.globalBatch=4', 'batch.coarse.microBatch=2', 'batch.coarse.tasksPerStep=2',
      `checkpoint.uri=${ckpt}`, 'checkpoint.everySteps=1', 'optimizer.coarse.gradClipNorm=1',
    ].flatMap((s) => ['--set', s]);
    cluster = startCluster(redis.url, 1, 1, { FIBER_TASK_LOCK_MS: '4000' });
  });
  after(async () => {
    await cluster?.stop();
    await redis.close();
    rmSync(root, { recursive: true, force: true });
  });

  const submit = (run: string, extra: string[] = []) => runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', run, ...sets, ...extra], env());
  const finalSha = (checkpoint: string) => (JSON.parse(readFileSync(join(checkpoint, 'manifest.json'), 'utf8')) as { model: { sha256: string } }).model.sha256;
  const historyLines = (run: string) => {
    const dir = join(ckpt, run, 'coarse', 'history');
    return readdirSync(dir).filter((n) => n.startsWith('metrics-')).sort()
      .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; losses: Record<string, number>; lr: number }));
  };

  let reference = '';

  it('an uninterrupted run: the reference bits, and its history beside the checkpoints', async () => {
    assert.equal((await submit('ref')).code, 0);
    const stage = await waitForStage(redis.client, 'ref', 'coarse', 300_000);
    assert.equal(stage.state, 'completed', `${stage.error}\n${cluster!.logs()}`);
    reference = finalSha(stage.checkpoint!);
    const lines = historyLines('ref');
    assert.deepEqual(lines.map((l) => l.step), [1, 2, 3]);
    const inRedis = (await redis.client.lrange('fiber:metrics:ref:coarse', 0, -1)).map((l) => JSON.parse(l) as { step: number });
    assert.deepEqual(lines, inRedis, 'the JSONL holds the Redis entries as written');
    assert.ok(readdirSync(join(ckpt, 'ref', 'coarse', 'history')).some((n) => n.startsWith('events.out.tfevents.')));
  });

  it('cancelled mid-way, Redis wiped, `fiber resume --checkpoints` finishes it with the same bits', async () => {
    assert.equal((await submit('life')).code, 0);
    for (let i = 0; ; i++) {
      if (Number(await redis.client.hget('fiber:registry:run:life:stage:coarse', 'step')) >= 1) break;
      assert.ok(i < 3000, 'the stage never reached step 1');
      await new Promise((r) => setTimeout(r, 50));
    }
    const cancel = await runFiber(['cancel', 'life'], env());
    assert.equal(cancel.code, 0, cancel.stderr);
    const cancelled = await waitForStage(redis.client, 'life', 'coarse', 120_000);
    assert.equal(cancelled.state, 'cancelled', cluster!.logs());
    const stoppedAt = Number(cancelled.step);
    assert.ok(stoppedAt < STEPS, `stopped at step ${stoppedAt}, before the end`);

    const runs = await runFiber(['runs', '--json'], env());
    assert.equal(runs.code, 0, runs.stderr);
    const listed = (JSON.parse(runs.stdout) as { runs: { name: string; state: string; step: number; totalSteps: number }[] }).runs;
    assert.deepEqual(listed.map((r) => [r.name, r.state]), [['life', 'cancelled'], ['ref', 'completed']]);
    assert.deepEqual([listed[0]!.step, listed[0]!.totalSteps], [stoppedAt, STEPS]);

    // A different config is refused, naming the field; nothing changes.
    const other = await runFiber(['resume', 'life', '--preset', 'fiber-tiny', ...sets, '--set', 'optimizer.coarse.lr=0.001'], env());
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /optimizer\.coarse\.lr: .* -> 0\.001/);

    // Redis is lost with everything in it; the cluster comes back empty.
    await cluster!.stop();
    await redis.flush();
    cluster = startCluster(redis.url, 1, 1, { FIBER_TASK_LOCK_MS: '4000' });
    const noRecord = await runFiber(['resume', 'life'], env());
    assert.equal(noRecord.code, 2);
    assert.match(noRecord.stderr, /--checkpoints URL/);

    const resumed = await runFiber(['resume', 'life', '--checkpoints', ckpt, '--json'], env());
    assert.equal(resumed.code, 0, resumed.stderr);
    const out = JSON.parse(resumed.stdout) as { restored: boolean; fromStep: number; previous: string; stage: string };
    assert.deepEqual([out.restored, out.stage, out.previous, out.fromStep], [true, 'coarse', 'failed', stoppedAt]);
    const done = await waitForStage(redis.client, 'life', 'coarse', 300_000);
    assert.equal(done.state, 'completed', `${done.error}\n${cluster!.logs()}`);
    assert.equal(finalSha(done.checkpoint!), reference, 'bit-identical to the uninterrupted run');

    assert.deepEqual(historyLines('life').map((l) => l.step), [1, 2, 3], 'every step once, across the cancel and the lost Redis');
  });

  it('`fiber report --checkpoints` works with no Redis at all; `fiber checkpoints` lists them from storage', async () => {
    const noRedis = { FIBER_REDIS_URL: 'redis://127.0.0.1:1' };
    const out = join(root, 'report');
    const rep = await runFiber(['report', 'life', '--checkpoints', ckpt, '--out', out, '--json'], noRedis);
    assert.equal(rep.code, 0, rep.stderr);
    const stages = (JSON.parse(rep.stdout) as { stages: { stage: string; state: string; metricSteps: number }[] }).stages;
    assert.deepEqual(stages.map((s) => [s.stage, s.state, s.metricSteps]), [['coarse', 'completed', STEPS]]);
    assert.ok(existsSync(join(out, 'index.html')));

    const list = await runFiber(['checkpoints', 'life', '--checkpoints', ckpt, '--json'], noRedis);
    assert.equal(list.code, 0, list.stderr);
    const cps = (JSON.parse(list.stdout) as { checkpoints: { step: number; latest: boolean; final: boolean; bytes: number; files: { sha256: string }[] }[] }).checkpoints;
    const last = cps.find((c) => c.latest)!;
    assert.deepEqual([last.step, last.final], [STEPS, true]);
    assert.ok(last.bytes > 0 && last.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256)));
  });

  it('`fiber delete` removes the Redis records, and with --checkpoints the checkpoints too', async () => {
    const del = await runFiber(['delete', 'life', '--checkpoints', '--json'], env());
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await redis.client.exists('fiber:registry:run:life', 'fiber:registry:run:life:stage:coarse', 'fiber:metrics:life:coarse'), 0);
    assert.equal(existsSync(join(ckpt, 'life')), false);
    assert.equal(existsSync(join(ckpt, 'ref')), true, 'other runs untouched');
    const runs = JSON.parse((await runFiber(['runs', '--json'], env())).stdout) as { runs: { name: string }[] };
    assert.deepEqual(runs.runs.map((r) => r.name), [], 'ref went with the wiped Redis; life is deleted');
  });
});
