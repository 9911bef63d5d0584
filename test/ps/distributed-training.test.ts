import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore } from '../../src/storage/object-store.js';
import { packDataset } from '../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../src/data/packing/pack-sources.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, startFiber, waitForStage, type Cluster, type Proc } from '../helpers/cluster.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * The guarantees of DESIGN.md, with real processes: `fiber ps` shards and `fiber worker`s as
 * children, a real redis-server, real TCP and real TensorFlow.js on fiber-tiny.
 */
const coco = cocoDevDir();

describe('distributed training (real processes)', { skip: coco.skip, timeout: 900_000 }, () => {
  let redis: TestRedis;
  const root = mkdtempSync(join(tmpdir(), 'fiber-dist-'));
  let shardsPattern = '';

  before(async () => {
    redis = await startRedis();
    const store = createObjectStore();
    const input = await readCocoDevInput(join(coco.dir!, 'images'), join(coco.dir!, 'annotations.jsonl'));
    const packed = await packDataset(input, store, { out: join(root, 'data'), samplesPerShard: 32 });
    shardsPattern = packed.coarse!.pattern;
    await store.close();
  });
  after(async () => {
    await redis.close();
    rmSync(root, { recursive: true, force: true });
  });

  const STEPS = 3;
  const sets = (ckpt: string, everySteps: number) => [
    '--set', `data.coarse.shards=${shardsPattern}`, '--set', `optimizer.coarse.totalSteps=${STEPS}`,
    '--set', 'batch.coarse.globalBatch=8', '--set', 'batch.coarse.microBatch=2', '--set', 'batch.coarse.tasksPerStep=2',
    '--set', `checkpoint.uri=${ckpt}`, '--set', `checkpoint.everySteps=${everySteps}`, '--set', 'optimizer.coarse.gradClipNorm=1',
  ];

  /** One coarse stage on S shards and W workers; returns the final weights' sha256. */
  interface TrainOptions { disturb?: (c: Cluster) => Promise<void>; env?: Record<string, string>; everySteps?: number; extra?: string[] }
  async function train(name: string, S: number, W: number, { disturb, env = {}, everySteps = 1, extra = [] }: TrainOptions = {}): Promise<string> {
    await redis.flush();
    const ckpt = join(root, name);
    const cluster = startCluster(redis.url, S, W, { FIBER_TASK_LOCK_MS: '4000', ...env });
    try {
      const sub = await runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', name, ...sets(ckpt, everySteps), ...extra], { FIBER_REDIS_URL: redis.url });
      assert.equal(sub.code, 0, sub.stderr);
      let disturbed = false;
      const stage = await waitForStage(redis.client, name, 'coarse', 600_000, async () => {
        if (disturb && !disturbed) {
          disturbed = true;
          await disturb(cluster);
        }
      });
      assert.equal(stage.state, 'completed', `${stage.error}\n${cluster.logs()}`);
      const manifest = JSON.parse(readFileSync(join(stage.checkpoint!, 'manifest.json'), 'utf8')) as { model: { sha256: string }; step: number };
      assert.equal(manifest.step, STEPS);
      return manifest.model.sha256;
    } catch (err) {
      process.stderr.write(cluster.logs());
      throw err;
    } finally {
      await cluster.stop();
    }
  }

  let reference = '';

  it('1 worker and 1 shard: the reference run', async () => {
    reference = await train('ref', 1, 1);
    assert.match(reference, /^[0-9a-f]{64}$/);
  });

  it('2 workers and 2 shards give bit-identical parameters, while a second shard 1 stands by', async () => {
    // Shards 1..S-1 hold no lease: a duplicate would replace shard 1's record at every heartbeat,
    // which the coordinator reads as a restart. It must wait instead (ps/shard-slot.ts).
    let duplicate: Proc | null = null;
    const hash = await train('w2s2', 2, 2, { disturb: async (c) => {
      for (let i = 0; i < 600 && (await redis.client.get('fiber:ps:shard:1')) === null; i++) await new Promise((r) => setTimeout(r, 50));
      duplicate = startFiber('ps-1-duplicate', ['ps', '--shard', '1', '--shards', '2', '--port', '0', '--bind', '127.0.0.1', '--advertise-host', '127.0.0.1'], { FIBER_REDIS_URL: redis.url });
      c.workers.push(duplicate);
    } });
    assert.equal(hash, reference);
    const d = duplicate as Proc | null;
    assert.ok(d);
    assert.equal(d.output().match(/standing by/g)?.length, 1, `the duplicate says so once:\n${d.output()}`);
    assert.equal(d.child.exitCode, null, 'and keeps standing by');
    assert.equal(Number(await redis.client.get('fiber:ps:epochs:w2s2:coarse')), 1, 'the coordinator never restarted its stage');
  });

  it('bounded staleness 1: different bits from synchronous, but the same for 1 and 2 workers/shards', async () => {
    const stale = ['--set', 'batch.coarse.staleness=1'];
    const one = await train('stale1', 1, 1, { everySteps: STEPS, extra: stale });
    const two = await train('stale2', 2, 2, { everySteps: STEPS, extra: stale });
    assert.equal(two, one, 'staleness is deterministic too: step v is computed on version v - 1');
    assert.notEqual(one, reference, 'and it is not the synchronous result');
  });

  it('3 workers and 1 shard give bit-identical parameters, while two more shard 0s contend for the coordinator', async () => {
    // The hand test: a second `fiber ps --shard 0` with --shards 2 (a mistyped flag) and a
    // third with --shards 1 (a rolling update) against the same Redis, while the first coordinates.
    let mistyped: Proc | null = null;
    let rolling: Proc | null = null;
    let exited: Promise<number | null> = Promise.resolve(null);
    const hash = await train('w3s1', 1, 3, { disturb: async (c) => {
      for (let i = 0; i < 600 && (await redis.client.get('fiber:ps:coordinator:lease')) === null; i++) await new Promise((r) => setTimeout(r, 50));
      const args = (shards: number) => ['ps', '--shard', '0', '--shards', String(shards), '--port', '0', '--bind', '127.0.0.1', '--advertise-host', `other-${shards}`, '--standby-grace', '2'];
      mistyped = startFiber('ps-0-shards-2', args(2), { FIBER_REDIS_URL: redis.url });
      rolling = startFiber('ps-0-standby', args(1), { FIBER_REDIS_URL: redis.url });
      exited = new Promise((resolve) => mistyped!.child.once('exit', (code) => resolve(code)));
      c.workers.push(mistyped, rolling); // stopped with the cluster
    } });
    assert.equal(hash, reference);
    const m = mistyped as Proc | null;
    const r = rolling as Proc | null;
    assert.ok(m && r);
    assert.equal(await exited, 2, `the --shards 2 one exits 2 after its grace window:\n${m.output()}`);
    assert.match(m.output(), /another shard 0 coordinates this Redis with --shards 1: 127\.0\.0\.1 \(pid \d+, --shards 1, token \d+\) since/);
    assert.equal(r.output().match(/standing by/g)?.length, 1, `the standby says so once:\n${r.output()}`);
    assert.equal(r.child.exitCode, null, 'and keeps standing by');
    assert.equal(Number(await redis.client.get('fiber:ps:epochs:w3s1:coarse')), 1, 'the coordinator never restarted its stage');
  });

  it('a worker killed with SIGKILL mid-task costs only its task: same bits', async () => {
    const hash = await train('kill', 1, 2, { disturb: async (c) => {
      // Wait until a worker is busy, then kill it without warning.
      for (let i = 0; i < 600; i++) {
        const workers = await redis.client.hgetall('fiber:workers');
        const busy = Object.values(workers).map((v) => JSON.parse(v) as { id: string; state: string }).find((w) => w.state === 'busy');
        if (busy) {
          await c.workers.find((p) => p.name === busy.id)!.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('no worker ever became busy');
    } });
    assert.equal(hash, reference);
    // The delivery ledger, read back from the checkpoints alone (no Redis): exactly once despite the kill.
    const ckpt = join(root, 'kill');
    const audit = await runFiber(['ledger', 'kill', '--checkpoints', ckpt, '--verify', '--json']);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
    const report = JSON.parse(audit.stdout) as { ok: boolean; stages: Array<{ samples: number; idsVerified: boolean; checkpoints: unknown[] }> };
    assert.equal(report.ok, true);
    assert.equal(report.stages[0]!.samples, STEPS * 8);
    assert.equal(report.stages[0]!.idsVerified, true);
    // A hand-corrupted ledger: the last step's range recorded twice, the first step's not at all.
    const manifestPath = join(ckpt, 'kill', 'coarse', 'step-00000003', 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { ledger: { segments: Array<Record<string, number | string>> } };
    const [seg] = manifest.ledger.segments;
    manifest.ledger.segments = [{ ...seg!, start: 8, fromStep: 1 }, { ...seg!, start: 16, fromStep: 2 }];
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const bad = await runFiber(['ledger', 'kill', '--checkpoints', ckpt]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /MISSING .*step-00000003 \(step 3\): epoch 0 ranks \[0, 8\) \(8 samples, step 0\) never consumed/);
    assert.match(bad.stdout, /DUPLICATED .*: epoch 0 ranks \[16, 24\) \(8 samples, step 2\) consumed twice/);
  });

  it('a parameter-server shard killed and restarted: the stage resumes from the latest checkpoint, same bits', async () => {
    const hash = await train('psrestart', 2, 1, { disturb: async (c) => {
      for (let i = 0; i < 1200; i++) {
        const step = Number(await redis.client.hget('fiber:registry:run:psrestart:stage:coarse', 'step'));
        if (step >= 1) {
          await c.shards[1]!.kill('SIGKILL');
          c.startShard(1);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the stage never reached step 1');
    } });
    assert.equal(hash, reference);
    const epochs = Number(await redis.client.get('fiber:ps:epochs:psrestart:coarse'));
    assert.ok(epochs >= 2, `the coordinator restarted the stage in a new epoch (epochs: ${epochs})`);
    // The steps redone after the restart are in the ledger once.
    const audit = await runFiber(['ledger', 'psrestart', '--checkpoints', join(root, 'psrestart'), '--json']);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
    assert.equal((JSON.parse(audit.stdout) as { ok: boolean }).ok, true);
  });

  it('a task longer than its lock keeps the lock: no task is ever taken twice', async () => {
    // Each task holds the compute thread 5 s beyond its work, against a 2 s lock.
    const hash = await train('lock', 1, 1, { env: { FIBER_TASK_LOCK_MS: '2000', FIBER_FAULT_COMPUTE_BUSY_MS: '5000' } });
    assert.equal(hash, reference);
    const keys = (await redis.client.keys('fiber:tasks:lock.coarse.*')).filter((k) => /\.t\d+$/.test(k));
    assert.equal(keys.length, STEPS * 2);
    for (const k of keys) {
      const [attempts, stalled] = await redis.client.hmget(k, 'atm', 'stc');
      assert.ok(Number(attempts ?? 0) <= 1 && Number(stalled ?? 0) === 0, `${k}: attempts ${attempts}, stalled ${stalled}`);
      const result = JSON.parse((await redis.client.hget(k, 'returnvalue'))!) as { computeMs: number };
      assert.ok(result.computeMs > 5000, `the task ran ${result.computeMs} ms, longer than its 2000 ms lock`);
    }
  });

  it('SIGTERM (preemption) makes a shard checkpoint before it exits; its replacement resumes there, same bits', async () => {
    let exitCode: number | null = null;
    const hash = await train('preempt', 2, 1, { everySteps: 100, disturb: async (c) => {
      for (let i = 0; i < 1200; i++) {
        const step = Number(await redis.client.hget('fiber:registry:run:preempt:stage:coarse', 'step'));
        if (step >= 1) {
          const shard = c.shards[1]!;
          await shard.kill('SIGTERM');
          exitCode = shard.child.exitCode;
          const latest = readFileSync(join(root, 'preempt', 'preempt', 'coarse', 'latest'), 'utf8');
          assert.notEqual(latest, 'step-00000000', 'a checkpoint past the initial one was written before exit');
          c.startShard(1);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the stage never reached step 1');
    } });
    assert.equal(exitCode, 0, 'the shard exited cleanly after its checkpoint');
    assert.equal(hash, reference);
  });
});
