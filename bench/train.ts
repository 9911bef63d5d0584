/**
 * End-to-end training throughput of fiber-tiny through the real system: `fiber demo` with W
 * workers (embedded redis-server, parameter-server shards and workers as processes, generated
 * 64 px shapes), coarse stage only measured (the fine stage runs 1 step). samples/s is the
 * coordinator's own per-step record (global batch / wall time of the step, pulls, compute,
 * pushes and the optimizer included), over the whole stage (the first steps carry the warm-up).
 * Baseline in the same run: 1 worker. On a machine with C cores, more than C workers only
 * share the cores.
 *
 * Overhead (issue 18): each row also gives the compute share of the step (goodput: the workers'
 * compute ÷ the step's wall time, target >= 95% with one worker) and where the rest went, from the
 * per-step time split the coordinator writes into the metrics (docs/status.md, "Goodput"), summed
 * over the coarse stage; and the load average, since the machine may be shared.
 *
 *   npm run build && node dist/bench/train.js [--workers 1,2,4] [--shards 1] [--steps 20] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoSummary } from '../src/demo/demo-summary.js';
import { STEP_TIME_CAUSES, type StepTimeCause } from '../src/queue/step-time.js';
import { FIBER_BIN, REPO_ROOT } from '../test/helpers/cli.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const workers = arg('workers', '1,2,4').split(',').map(Number);
const shards = Number(arg('shards', '1'));
const steps = Number(arg('steps', '20'));
const json = process.argv.includes('--json');

interface Row {
  workers: number; shards: number; steps: number; samplesPerSec: number; speedup: number; seconds: number; busyCores: number;
  /** Compute ÷ wall over the coarse steps (goodput), and each cause's share of the wall time. */
  computeShare: number | null; shares: Partial<Record<StepTimeCause, number>>; loadAverage: number;
}

/**
 * CPU seconds of this process's finished children and their descendants (Linux: /proc/self/stat
 * cutime + cstime, in clock ticks of 1/100 s), NaN elsewhere. Over a whole demo divided by its
 * wall time: how many of the machine's cores the run kept busy.
 */
function childCpuSeconds(): number {
  try {
    const rest = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(rest[13]) + Number(rest[14])) / 100;
  } catch {
    return NaN;
  }
}
const rows: Row[] = [];
const root = mkdtempSync(join(tmpdir(), 'fiber-bench-train-'));
try {
  for (const w of workers) {
    const out = join(root, `w${w}`);
    const cpu0 = childCpuSeconds();
    const t0 = performance.now();
    const res = spawnSync(process.execPath, [FIBER_BIN, 'demo', '--out', out, '--json', '--workers', String(w), '--shards', String(shards),
      '--coarse-steps', String(steps), '--fine-steps', '1', '--images', '256'], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, FIBER_REDIS_URL: '' } });
    const busyCores = (childCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
    if (res.status !== 0) throw new Error(`fiber demo --workers ${w} failed:\n${res.stderr.slice(-3000)}`);
    const summary = JSON.parse(res.stdout) as DemoSummary;
    const coarse = summary.stages.find((s) => s.stage === 'coarse')!;
    const rate = coarse.samplesPerSec ?? NaN;
    const shares: Partial<Record<StepTimeCause, number>> = {};
    if (coarse.time) for (const c of STEP_TIME_CAUSES) if (coarse.time[c] > 0) shares[c] = coarse.time[c] / coarse.time.wall;
    rows.push({ workers: w, shards, steps, samplesPerSec: rate, speedup: rate / (rows[0]?.samplesPerSec ?? rate), seconds: coarse.seconds, busyCores, computeShare: coarse.goodput, shares, loadAverage: loadavg()[0]! });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const result = { bench: 'train', model: 'fiber-tiny', stage: 'coarse', globalBatch: 16, cores: cpus().length, rows };
if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  process.stdout.write(`${JSON.stringify(result)}\n\n| workers | shards | steps | samples/s | vs 1 worker | stage time | cores busy (whole demo) | compute share of the step | the rest | load avg (1 min, at the end) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n`);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  for (const r of rows) {
    const rest = Object.entries(r.shares).filter(([c]) => c !== 'compute').sort((a, b) => b[1] - a[1]).map(([c, v]) => `${c} ${pct(v)}`).join(', ');
    process.stdout.write(`| ${r.workers} | ${r.shards} | ${r.steps} | ${r.samplesPerSec.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.seconds.toFixed(0)} s | ${r.busyCores.toFixed(2)} of ${cpus().length} | ${r.computeShare === null ? '-' : pct(r.computeShare)} | ${rest} | ${r.loadAverage.toFixed(2)} |\n`);
  }
}
