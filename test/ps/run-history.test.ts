import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { DEFAULT_RETRY } from '../../src/storage/retry.js';
import { DEFAULT_S3_CONFIG } from '../../src/storage/s3-config.js';
import { joinUrl } from '../../src/storage/url.js';
import { appendHistory, historyDir, readStageHistory, type HistorySource } from '../../src/ps/run-history.js';
import { commitCheckpoint } from '../../src/ps/checkpoint-io.js';
import { CHECKPOINT_FORMAT, stageDir, stepDirName } from '../../src/ps/checkpoint-layout.js';
import { resolveRunConfig, configHash } from '../../src/config/index.js';
import { runFiber } from '../helpers/cli.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { parseEventFile } from '../helpers/tfevents-reader.js';

/** A metrics line as the coordinator writes it, plus a field another writer might add. */
const line = (step: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ step, t: 1_700_000_000_000 + step * 1000, seconds: 2, samples: 8, losses: { itc: 3 - step / 10, mlm: 9 }, lr: step * 1e-5, goodput: { compute: 0.5 }, ...extra });
const evalLine = (step: number) => JSON.stringify({ step, t: 1_700_000_100_000 + step, task: 'retrieval', scores: { r_mean: step / 100 }, n: 16 });

/** What the Redis lists would hold: the lines so far, in order (replays included). */
function source(metrics: string[], evals: string[] = []): HistorySource {
  return { metricsAfter: async () => metrics, evals: async () => evals };
}

async function history(store: ObjectStore, dir: string) {
  const names = await store.list(historyDir(dir));
  const events = [];
  for (const n of names.filter((x) => x.startsWith('events.out.tfevents.'))) events.push(...parseEventFile(await store.read(joinUrl(historyDir(dir), n))).filter((e) => !e.fileVersion));
  return { names, ...(await readStageHistory(store, dir)), events };
}

describe('history beside the checkpoints', () => {
  const root = mkdtempSync(join(tmpdir(), 'fiber-history-'));
  const store = createObjectStore();
  after(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('one chunk per checkpoint with the steps since the previous one; a replay adds no step twice', async () => {
    const dir = join(root, 'r', 'coarse');
    const lines = [1, 2, 3, 4].map((s) => line(s));
    await appendHistory(store, dir, 2, source(lines.slice(0, 2)));
    // Steps 3 and 4 ran, a shard restarted from checkpoint 2, step 3 ran again (a new line), then checkpoint 4.
    const replayed = line(3, { seconds: 5 });
    const out = await appendHistory(store, dir, 4, source([...lines, replayed, lines[3]!], [evalLine(2)]));
    assert.equal(out.steps, 2);
    const again = await appendHistory(store, dir, 4, source([...lines, replayed], [evalLine(2)]));
    assert.deepEqual(again, { steps: 0, evals: 0, files: [] }, 'the same checkpoint twice writes nothing');
    const h = await history(store, dir);
    assert.deepEqual(h.names.filter((n) => n.startsWith('metrics-')), ['metrics-00000001-00000002.jsonl', 'metrics-00000003-00000004.jsonl']);
    assert.deepEqual(h.metrics.map((l) => (JSON.parse(l) as { step: number }).step), [1, 2, 3, 4]);
    assert.equal(h.metrics[2], replayed, 'the later line of a replayed step is kept, as written');
    assert.deepEqual(h.evals, [evalLine(2)]);
  });

  it('TensorBoard scalars match the JSONL: every numeric field, steps and wall times', async () => {
    const dir = join(root, 'r', 'coarse');
    const h = await history(store, dir);
    const steps = h.events.filter((e) => !Object.keys(e.scalars).some((k) => k.startsWith('eval/')));
    assert.deepEqual(steps.map((e) => e.step), [1, 2, 3, 4]);
    for (const [i, l] of h.metrics.entries()) {
      const m = JSON.parse(l) as { step: number; t: number; seconds: number; samples: number; losses: Record<string, number>; lr: number; goodput: { compute: number } };
      const e = steps[i]!;
      assert.equal(e.step, m.step);
      assert.equal(e.wallTime, m.t / 1000);
      assert.deepEqual(e.scalars, {
        seconds: m.seconds, samples: m.samples, 'losses/itc': Math.fround(m.losses.itc!), 'losses/mlm': m.losses.mlm, lr: Math.fround(m.lr),
        'goodput/compute': m.goodput.compute, samples_per_sec: Math.fround(m.samples / m.seconds),
      });
    }
    const evals = h.events.filter((e) => Object.keys(e.scalars).some((k) => k.startsWith('eval/')));
    assert.deepEqual(evals.map((e) => [e.step, e.scalars]), [[2, { 'eval/retrieval/r_mean': Math.fround(0.02) }]]);
  });

  describe('on S3 (s3rver through the AWS SDK), read back by the CLI without Redis', () => {
    let s3: S3TestServer;
    let s3store: ObjectStore;
    before(async () => {
      s3 = await startS3Server();
      s3store = createObjectStore({ s3: { ...DEFAULT_S3_CONFIG, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials }, retry: DEFAULT_RETRY });
    });
    after(async () => {
      await s3store.close();
      await s3.close();
    });

    it('fiber checkpoints and fiber report --checkpoints read the manifests and the history', async () => {
      const uri = `s3://${s3.bucket}/ckpt`;
      const config = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.coarse.shards=s3://b/{0..1}.tar', 'optimizer.coarse.totalSteps=10', `checkpoint.uri=${uri}`] });
      const dir = stageDir(uri, 's3run', 'coarse');
      for (const step of [2, 4]) {
        await commitCheckpoint(s3store, dir, stepDirName(step), {
          format: CHECKPOINT_FORMAT, run: 's3run', stage: 'coarse', step, configHash: configHash(config), config, numShards: 1, totalElements: 4,
          params: [{ name: 'w', shape: [4] }], files: [{ name: 'shard-0-of-1.safetensors', shard: 0, flatStart: 0, flatEnd: 4, bytes: 100, sha256: 'a'.repeat(64) }],
          model: null, dataCursor: { nextStep: step }, seeds: { seed: 0 }, init: null, createdAt: new Date(0).toISOString(),
        });
        await appendHistory(s3store, dir, step, source([1, 2, 3, 4].map((s) => line(s)), [evalLine(2)]));
      }
      const env = { ...s3.env, FIBER_REDIS_URL: 'redis://127.0.0.1:1' };
      const list = await runFiber(['checkpoints', 's3run', '--checkpoints', uri, '--json'], env);
      assert.equal(list.code, 0, list.stderr);
      const cps = (JSON.parse(list.stdout) as { checkpoints: { step: number; latest: boolean; bytes: number }[] }).checkpoints;
      assert.deepEqual(cps.map((c) => [c.step, c.latest, c.bytes]), [[2, false, 100], [4, true, 100]]);
      const human = await runFiber(['checkpoints', 's3run', '--checkpoints', uri], env);
      assert.match(human.stdout, /coarse step +4 .*\(latest\)/);

      const out = join(root, 's3-report');
      const rep = await runFiber(['report', 's3run', '--checkpoints', uri, '--out', out, '--json'], env);
      assert.equal(rep.code, 0, rep.stderr);
      const stages = (JSON.parse(rep.stdout) as { stages: { stage: string; state: string; step: number; metricSteps: number }[] }).stages;
      assert.deepEqual(stages.map((s) => [s.stage, s.state, s.step, s.metricSteps]), [['coarse', 'failed', 4, 4]]);
    });
  });
});
