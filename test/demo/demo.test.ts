import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import type { DemoSummary } from '../../src/demo/demo-summary.js';
import { FIBER_BIN, REPO_ROOT, runFiber } from '../helpers/cli.js';

/**
 * `fiber demo` end to end, as a newcomer runs it: embedded redis-server, shards and workers as
 * child processes, generated data, coarse then fine, eval, report. Small step counts keep it to a
 * few minutes on 2 cores; every number checked comes from the run.
 */
const root = mkdtempSync(join(tmpdir(), 'fiber-demo-test-'));

/** Processes still alive whose environment carries `mark` (the demo's children inherit it). */
function survivors(mark: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(`FIBER_TEST_MARK=${mark}`)) pids.push(Number(d));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

async function demo(name: string, args: string[]): Promise<{ summary: DemoSummary; stderr: string; mark: string }> {
  const mark = randomUUID();
  const out = join(root, name);
  const res = await runFiber(['demo', '--out', out, '--json', '--images', '64', '--eval-images', '16', ...args], { FIBER_TEST_MARK: mark }, { timeoutMs: 600_000 });
  assert.equal(res.code, 0, `${res.stderr.slice(-3000)}\n${res.stdout.slice(-2000)}`);
  return { summary: JSON.parse(res.stdout) as DemoSummary, stderr: res.stderr, mark };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('fiber demo', { timeout: 1_200_000 }, () => {
  after(() => rmSync(root, { recursive: true, force: true }));
  let two: DemoSummary;

  it('runs coarse then fine with 2 workers and 2 shards, evaluates, reports, and leaves nothing running', async () => {
    const r = await demo('w2s2', ['--coarse-steps', '4', '--fine-steps', '2']);
    two = r.summary;
    assert.deepEqual(two.stages.map((s) => [s.stage, s.state, s.steps]), [['coarse', 'completed', 4], ['fine', 'completed', 2]]);
    for (const s of two.stages) {
      assert.ok(s.modelFile && existsSync(s.modelFile), `${s.stage} weights file ${s.modelFile}`);
      assert.equal(sha256(s.modelFile), s.modelSha256, 'the summary hash is the file on disk');
      assert.ok(Number.isFinite(s.lossFirst) && Number.isFinite(s.lossLast) && s.samplesPerSec! > 0);
      assert.ok(s.goodput! > 0 && s.goodput! <= 1, `${s.stage} goodput ${s.goodput}`);
    }
    assert.deepEqual(two.evals.map((e) => e.task), ['retrieval', 'grounding']);
    for (const e of two.evals) {
      assert.ok(e.n > 0);
      for (const v of [...Object.values(e.scores), ...Object.values(e.untrained), ...Object.values(e.chance)]) assert.ok(v >= 0 && v <= 1, `${e.task} ${v}`);
    }
    assert.ok(two.report && existsSync(two.report.html));
    const html = readFileSync(two.report.html, 'utf8');
    assert.doesNotMatch(html, /(src|href)="https?:/);
    assert.ok(two.report.pngs.length >= 6, `charts: ${two.report.pngs.join(', ')}`);
    for (const png of two.report.pngs) {
      const meta = await sharp(png).metadata();
      assert.equal(meta.format, 'png');
      assert.ok(meta.width! > 0 && meta.height! > 0);
    }
    assert.ok(two.report.pngs.some((p) => /coarse-eval-retrieval\.png$/.test(p)), 'in-training evaluations were recorded and charted');
    assert.match(r.stderr, /coarse \[#*\.*\] +\d\/4/, 'live progress was shown');
    assert.deepEqual(two.restarts, {}, 'no child died');
    assert.deepEqual(survivors(r.mark), [], 'every process the demo started has exited');
  });

  it('gives bit-identical weights with 1 worker and 1 shard (same seed)', async () => {
    const { summary: one } = await demo('w1s1', ['--coarse-steps', '4', '--fine-steps', '2', '--workers', '1', '--shards', '1']);
    assert.deepEqual(one.stages.map((s) => s.modelSha256), two.stages.map((s) => s.modelSha256));
  });

  it('a worker SIGKILLed mid-run is restarted and the run ends with the same sha256', async () => {
    // The same flags as the 2-worker run above: its sha256 is the undisturbed reference.
    assert.ok(two, 'needs the undisturbed run above');
    const mark = randomUUID();
    const child = spawn(process.execPath, [FIBER_BIN, 'demo', '--out', join(root, 'killed'), '--json', '--images', '64', '--eval-images', '16', '--coarse-steps', '4', '--fine-steps', '2'], {
      cwd: REPO_ROOT, env: { ...process.env, FIBER_REDIS_URL: '', FIBER_TEST_MARK: mark }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const deadline = Date.now() + 300_000;
    const training = /coarse \[#*\.*\] +[1-3]\/4/;
    while (!training.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    assert.match(err, training, err);
    const [victim] = survivors(mark).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('demo-worker-0'));
    assert.ok(victim, 'worker-0 is running');
    process.kill(victim, 'SIGKILL');
    const code = await exited;
    assert.equal(code, 0, err.slice(-3000));
    const killed = JSON.parse(out) as DemoSummary;
    assert.deepEqual(killed.stages.map((s) => s.modelSha256), two.stages.map((s) => s.modelSha256), 'bit-identical after the kill');
    assert.equal(killed.restarts['worker-0'], 1);
    assert.equal(killed.chaos, null);
    assert.match(err, /worker-0 exited \(SIGKILL\); restarting it/);
    assert.deepEqual(survivors(mark), []);
  });

  it('Ctrl-C stops everything it started and exits 130', async () => {
    const mark = randomUUID();
    const child = spawn(process.execPath, [FIBER_BIN, 'demo', '--out', join(root, 'interrupted'), '--images', '64', '--steps', '20'], {
      cwd: REPO_ROOT, env: { ...process.env, FIBER_REDIS_URL: '', FIBER_TEST_MARK: mark }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Off a terminal the demo prints a progress line per 10% of a stage: with 20 steps, one at
    // step 2, so the interrupt lands while workers are training.
    const deadline = Date.now() + 300_000;
    const training = /coarse \[#*\.*\] +[1-9]\d*\/20/;
    while (!training.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    assert.match(err, training, err);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 130, err);
    assert.match(err, /everything it started has exited/);
    assert.deepEqual(survivors(mark), []);
  });

  it('a missing redis-server is a clear error (exit 2) that says how to get one', async () => {
    const res = await runFiber(['demo', '--out', join(root, 'noredis'), '--steps', '1'], { PATH: '/nonexistent' }, { timeoutMs: 60_000 });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /redis-server was not found on PATH: install it .*apt-get install -y redis-server.*FIBER_REDIS_URL/);
  });

  it('bad flags exit 2 naming the flag', async () => {
    for (const [flag, value] of [['--workers', '0'], ['--shards', '99'], ['--steps', 'x'], ['--seed', '-1'], ['--chaos', '0'], ['--chaos-seed', 'x']] as const) {
      const res = await runFiber(['demo', flag, value], {}, { timeoutMs: 10_000 });
      assert.equal(res.code, 2, `${flag} ${value}`);
      assert.match(res.stderr, new RegExp(flag.replace(/-/g, '\\-')));
    }
  });
});
