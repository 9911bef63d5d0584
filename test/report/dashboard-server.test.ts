import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { createObjectStore } from '../../src/storage/object-store.js';
import { packShapesDataset } from '../../src/data/packing/pack-shapes.js';
import { collectRunMetrics } from '../../src/report/collect-run-metrics.js';
import { collectStatus } from '../../src/queue/collect-status.js';
import { RunRegistry } from '../../src/queue/run-registry.js';
import { QUEUE_PREFIX, STAGES_QUEUE, TASKS_QUEUE } from '../../src/queue/keys.js';
import { STEP_TIME_CAUSES } from '../../src/queue/step-time.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, startFiber, TEST_PS_TOKEN, waitForStage, type Cluster, type Proc } from '../helpers/cluster.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * One real tiny run (a `fiber ps` shard and a `fiber worker` as processes, fiber-tiny, 3 coarse
 * steps with an evaluation at the end), then what issue 15 asks of it: each step's time breakdown
 * sums to its wall time, `fiber ps` exports the run's gauges, and `fiber dashboard` draws the
 * run's charts in a real headless Chromium.
 */
const CHROMIUM = '/usr/bin/chromium';
const RUN = 'dash-run';
const STEPS = 3;

describe('a tiny real run: goodput, Prometheus gauges, fiber dashboard', { timeout: 600_000 }, () => {
  let redis: TestRedis;
  let cluster: Cluster;
  const root = mkdtempSync(join(tmpdir(), 'fiber-dash-'));

  before(async () => {
    redis = await startRedis();
    const store = createObjectStore();
    const packed = await packShapesDataset(store, { out: join(root, 'data'), count: 32, seed: 0, samplesPerShard: 32 });
    await store.close();
    const shards = packed.coarse!.urls.join(',');
    cluster = startCluster(redis.url, 1, 1);
    const sets = [
      `data.coarse.shards=${shards}`, `optimizer.coarse.totalSteps=${STEPS}`, 'batch.coarse.globalBatch=8', 'batch.coarse.microBatch=2',
      'batch.coarse.tasksPerStep=2', `checkpoint.uri=${join(root, 'ckpt')}`, 'checkpoint.everySteps=2',
      `eval.everySteps=${STEPS}`, `eval.coarseShards=${JSON.stringify(packed.coarse!.urls)}`, 'eval.limit=16',
    ].flatMap((s) => ['--set', s]);
    const sub = await runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', RUN, ...sets], { FIBER_REDIS_URL: redis.url });
    assert.equal(sub.code, 0, sub.stderr);
    const stage = await waitForStage(redis.client, RUN, 'coarse', 400_000);
    assert.equal(stage.state, 'completed', `${stage.error}\n${cluster.logs()}`);
    const deadline = Date.now() + 120_000;
    while (Number(await redis.client.hget(`fiber:registry:run:${RUN}:stage:coarse`, 'eval.step') ?? -1) < STEPS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  after(async () => {
    await cluster?.stop();
    await redis?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes a time breakdown per step whose parts are >= 0 and sum to the step\'s wall time', async () => {
    const { coarse } = await collectRunMetrics(redis.client, RUN);
    assert.equal(coarse.steps.length, STEPS);
    for (const s of coarse.steps) {
      const t = s.time;
      assert.ok(t, `step ${s.step} has a breakdown`);
      for (const c of STEP_TIME_CAUSES) assert.ok(t[c] >= 0, `step ${s.step} ${c} = ${t[c]}`);
      const sum = STEP_TIME_CAUSES.reduce((a, c) => a + t[c], 0);
      assert.ok(Math.abs(sum - t.wall) < 0.005, `step ${s.step}: parts ${sum} vs wall ${t.wall}`);
      // The wall covers the coordinator's own step time (plus any checkpoint after it).
      assert.ok(t.wall >= s.seconds - 0.005, `step ${s.step}: wall ${t.wall} < step seconds ${s.seconds}`);
      assert.equal(t.workers, 1);
      assert.ok(t.compute > 0, `step ${s.step} computed`);
    }
    assert.ok(coarse.steps[1]!.time!.checkpoint > 0, 'step 2 wrote a checkpoint');
    const registry = new RunRegistry(redis.client);
    const stageQueue = new Queue(STAGES_QUEUE, { connection: redis.client, prefix: QUEUE_PREFIX });
    const taskQueue = new Queue(TASKS_QUEUE, { connection: redis.client, prefix: QUEUE_PREFIX });
    try {
      const status = await collectStatus({ registry, stageQueue, taskQueue, redis: { url: redis.url, version: '' } }, RUN, new Date());
      const time = status.runs[0]!.stages[0]!.time!;
      const wall = coarse.steps.reduce((a, s) => a + s.time!.wall, 0);
      assert.ok(Math.abs(time.seconds.wall - wall) < 0.01, `status sums the steps: ${time.seconds.wall} vs ${wall}`);
      assert.ok(time.goodput > 0 && time.goodput <= 1, `goodput ${time.goodput}`);
    } finally {
      await Promise.all([stageQueue.close(), taskQueue.close()]);
    }
  });

  it('fiber ps and fiber worker export the run\'s step, losses, LR, samples/s, goodput and eval scores', async () => {
    const psText = await scrape(cluster.shards[0]!);
    const labels = `run="${RUN}",stage="coarse"`;
    assert.match(psText, new RegExp(`fiber_train_step\\{[^}]*${labels}[^}]*\\} ${STEPS}\\n`));
    assert.match(psText, new RegExp(`fiber_train_total_steps\\{[^}]*${labels}[^}]*\\} ${STEPS}\\n`));
    for (const name of ['fiber_train_learning_rate', 'fiber_train_samples_per_second', 'fiber_goodput_ratio']) {
      assert.match(psText, new RegExp(`${name}\\{[^}]*${labels}[^}]*\\} [0-9.e+-]+\\n`), name);
    }
    assert.match(psText, /fiber_train_loss\{[^}]*objective="total"[^}]*\} [0-9.e+-]+\n/);
    assert.match(psText, /fiber_step_time_seconds_total\{[^}]*cause="compute"[^}]*\} [0-9.e+-]+\n/);
    assert.match(psText, /fiber_workers\{[^}]*state="(idle|busy)"[^}]*\} 1\n/, 'the one worker is counted');
    assert.doesNotMatch(psText, /cause="failures"/, 'nothing failed, so no time was lost to failures');
    const workerText = await scrape(cluster.workers[0]!);
    assert.match(workerText, /fiber_eval_score\{[^}]*task="retrieval"[^}]*metric="i2t_r1"[^}]*\} [0-9.e+-]+\n/);
  });

  it('fiber dashboard draws the run in headless Chromium, live, without secrets', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)` }, async () => {
    const dash = startFiber('dashboard', ['dashboard', '--port', '0', '--interval', '0.3'], { FIBER_REDIS_URL: redis.url });
    const profile = mkdtempSync(join(tmpdir(), 'fiber-chromium-'));
    let browser: import('playwright-core').BrowserContext | null = null;
    try {
      const { chromium } = await import('playwright-core');
      // A new empty profile directory; playwright passes it as --user-data-dir.
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM, headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const url = await waitForOutput(dash, /fiber dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/);
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('figure[data-chart="coarse-lr"] svg path', { timeout: 30_000 });
      // The LR chart has one series with no gaps: its path has a vertex per recorded step.
      const lr = await page.$eval('figure[data-chart="coarse-lr"]', (f) => ({ steps: f.getAttribute('data-steps'), d: f.querySelector('svg path')!.getAttribute('d')! }));
      assert.equal(lr.steps, String(STEPS));
      assert.equal((lr.d.match(/[ML]/g) ?? []).length, STEPS, lr.d);
      const losses = await page.$$eval('figure[data-chart="coarse-losses"] svg path', (ps) => ps.map((p) => (p.getAttribute('d')!.match(/[ML]/g) ?? []).length));
      assert.ok(losses.length >= 2 && losses.every((n) => n === STEPS), `loss paths: ${losses.join(', ')}`);
      assert.ok(await page.$('figure[data-chart="coarse-time"] svg path'), 'the time-by-cause chart is drawn');
      assert.ok(await page.$('figure[data-chart="coarse-eval-retrieval"] svg circle'), 'the evaluation is drawn');
      const causes = await page.$$eval('.stage svg.time-bar rect.cause', (rs) => rs.map((r) => r.getAttribute('data-cause')));
      assert.ok(causes.includes('compute'), `goodput bar causes: ${causes.join(', ')}`);
      const text = await page.textContent('body');
      assert.match(text!, /goodput \d+\.\d%/);
      assert.match(text!, new RegExp(`${STEPS} / ${STEPS} steps`));
      assert.match(text!, /w0/, 'the worker is listed');
      // Live: the page keeps refreshing from the server.
      await page.waitForFunction('Number(document.body.dataset.refreshes ?? 0) >= 3', undefined, { timeout: 20_000 });
      const html = await page.content();
      assert.ok(!html.includes(TEST_PS_TOKEN), 'the PS token never reaches the page');
    } finally {
      await browser?.close();
      await dash.kill('SIGINT');
      rmSync(profile, { recursive: true, force: true });
    }
    assert.equal(dash.child.exitCode, 0, dash.output());
  });
});

/** A service's Prometheus text, from the metrics port it logged at start-up. */
async function scrape(p: Proc): Promise<string> {
  const port = /"metricsPort":(\d+)/.exec(p.output())?.[1];
  assert.ok(port, `${p.name} logged its metrics port:\n${p.output().slice(-2000)}`);
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

async function waitForOutput(p: Proc, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(p.output());
    if (m) return m[1]!;
    if (Date.now() > deadline || p.child.exitCode !== null) throw new Error(`${p.name}: no ${pattern} in\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
