/**
 * bench/ps: one synchronous step's communication — every worker pushes its gradient to every
 * shard, the shards aggregate and apply AdamW, every worker pulls the new parameters — for 1M to
 * 250M float parameters, 1 to 8 workers and 1 to 4 shards, over loopback TCP on this machine.
 * Next to it, measured in the same run: memcpy rate and raw loopback TCP rate (the ceilings), and
 * for the target rows torch.distributed gloo all_reduce at world size = workers, alone and with
 * torch's AdamW (bench/baselines/gloo_allreduce.py; issue 18's targets: sync <= gloo, step with
 * AdamW <= gloo + AdamW).
 *
 *   npm run bench:ps             # the default matrix
 *   node dist/bench/ps.js --quick                          # the four target rows with gloo (minutes)
 *   node dist/bench/ps.js --row 16777216,2,2 [--no-gloo] [--cpu-prof DIR]   # one row, profiled
 *
 * Two figures per row. "sync" is the transport: push (until every shard acked) + pull of an
 * applied version. "step with AdamW" is what a worker waits for in a step: push, then a pull
 * asked at once, which streams out while the shards run AdamW (docs/decisions.md, "What bench/ps's
 * target measures"). Each shard is a process, as `fiber ps` is; each worker is a process with its
 * own connections (bench/ps-worker.ts), as `fiber worker` is. On 2 cores they all compete for CPU,
 * as gloo's W ranks do; each row also reports the CPU time its processes used per step.
 *
 * Every process runs with src/ops/malloc-tuning.ts's settings, as fiber's services do (this
 * script re-runs itself with them). The full matrix's last rows are the baseline of the same run
 * for those: shards with glibc's defaults.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { adamwUpdate } from '../src/ps/adamw.js';
import { simdAdamW, type AdamWKernel } from '../src/ps/adamw-simd.js';
import { MALLOC_TUNING, withMallocTuning } from '../src/ops/malloc-tuning.js';
import { ShardClient } from '../src/ps/shard-client.js';

if (process.env.MALLOC_TRIM_THRESHOLD_ === undefined) {
  // The clients (this process) run with the malloc settings fiber's services get: re-run with them.
  const r = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: withMallocTuning(process.env) });
  process.exit(r.status ?? 1);
}

const TOKEN = 'bench-token-0123456789abcdef';
const quick = process.argv.includes('--quick');
/** `--row FLOATS,SHARDS,WORKERS`: that row alone (with its gloo baseline), e.g. to profile it. */
const onlyRow = process.argv.includes('--row') ? process.argv[process.argv.indexOf('--row') + 1]!.split(',').map(Number) as [number, number, number] : null;
/** `--cpu-prof DIR`: shard and worker processes write V8 CPU profiles there (node --cpu-prof). */
const cpuProf = process.argv.includes('--cpu-prof') ? process.argv[process.argv.indexOf('--cpu-prof') + 1]! : null;
const execArgv = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];

function memcpyGBs(): number {
  const n = 16 << 20; // 64 MB of float32
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  b.set(a);
  const reps = 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) b.set(a);
  return (reps * n * 4) / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9;
}

/**
 * Raw loopback TCP rate: one stream of 4 MiB writes from this thread to a reader in another
 * thread (as the shards and their clients are), timed until the reader has every byte; the best
 * of `runs` runs. This VM's rate drifts by 3x within minutes (0.5-3.4 GB/s seen), so every row
 * is compared with a ceiling measured just before it.
 */
class Loopback {
  private readonly reader = new Worker(`
    const { createServer } = require('node:net');
    const { parentPort } = require('node:worker_threads');
    const server = createServer((s) => { s.resume(); s.on('end', () => parentPort.postMessage('end')); });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
  `, { eval: true });
  private readonly port = new Promise<number>((r) => this.reader.once('message', (m: number) => r(m)));
  private readonly chunk = Buffer.alloc(4 << 20, 1);

  async bestGBs(totalBytes: number, runs: number): Promise<number> {
    const port = await this.port;
    let best = 0;
    for (let run = 0; run < runs; run++) {
      const received = new Promise<void>((r) => this.reader.once('message', () => r()));
      const socket = connect({ host: '127.0.0.1', port });
      await new Promise<void>((r) => socket.once('connect', () => r()));
      const t0 = process.hrtime.bigint();
      for (let sent = 0; sent < totalBytes; sent += this.chunk.length) {
        if (!socket.write(this.chunk)) await new Promise<void>((r) => socket.once('drain', () => r()));
      }
      socket.end();
      await received;
      best = Math.max(best, totalBytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9);
    }
    return best;
  }

  close(): Promise<number> {
    return this.reader.terminate();
  }
}

/**
 * The optimizer's cost per parameter, the shard's largest CPU item: one AdamW pass over 16M floats,
 * median of 3 after a warm-up, with the JS loop and with the wasm SIMD kernel shards use.
 */
function adamwNsPerFloat(kernel: AdamWKernel): number {
  const n = 16 << 20;
  const [p, m, g] = [0, 1, 2].map((k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + k) * 1e-2));
  const v = Float32Array.from({ length: n }, (_, i) => Math.abs(Math.cos(i)) * 1e-4); // a second moment is >= 0
  const times: number[] = [];
  for (let t = 1; t <= 4; t++) {
    const t0 = process.hrtime.bigint();
    kernel(p!, m!, v, g!, { lr: 1e-4, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, t }, 0.5);
    if (t > 1) times.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return times.sort((a, b) => a - b)[1]!;
}

interface Row {
  floats: number; shards: number; workers: number;
  /** Shard processes started with src/ops/malloc-tuning.ts's settings (false: the baseline rows). */
  mallocTuned: boolean;
  /** Push until every shard acked (transfer, fold, the last fold's norm); the slowest worker's. */
  pushMs: number;
  /** What a worker waits for one step: push, then a pull asked at once (AdamW runs while it streams). */
  stepMs: number;
  /** Pull of a version already applied: transfer only. */
  pullMs: number;
  /** The transport alone: push + pull of a ready version. */
  syncMs: number;
  /** The loopback ceiling measured just before this row's steps (best of 3). */
  loopbackGBs: number;
  perWorkerGBs: number; aggregateGBs: number;
  /** Sync time / the time the bytes moved take at the row's ceiling. */
  vsLoopback: number;
  stepVsLoopback: number;
  /**
   * CPU time per timed iteration (the step and the pull of the ready version; user + system,
   * from /proc/PID/stat, 10 ms ticks) of all shard processes and of all worker processes: where the time goes, kernel copies included (a V8
   * profile shows only the JS side).
   */
  cpuPerStep: { shardUserMs: number; shardSysMs: number; workerUserMs: number; workerSysMs: number } | null;
  /** torch.distributed gloo at world size = workers, run right after this row; null if skipped. */
  gloo: Gloo | null;
  /** sync / gloo all_reduce; step with AdamW / (gloo all_reduce + torch AdamW). */
  syncVsGloo: number | null;
  stepVsGloo: number | null;
}

interface Timed { push: number; step: number; pull: number }

/** [user, system] CPU ms of the processes so far; null where /proc is not there. */
function cpuMs(pids: number[]): [number, number] | null {
  try {
    return pids.map((pid) => {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return [Number(f[11]) * 10, Number(f[12]) * 10] as [number, number];
    }).reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]);
  } catch {
    return null;
  }
}

/** One shard process per shard, as `fiber ps` runs; `tuned` = with the malloc settings (the default). */
function startShard(shard: number, size: number, tasks: number, tuned: boolean): ChildProcess {
  const env = { ...process.env };
  if (!tuned) for (const k of Object.keys(MALLOC_TUNING)) delete env[k];
  return fork(new URL('./ps-shard.js', import.meta.url), [JSON.stringify({ shard, size, tasks, token: TOKEN })], { env, execArgv });
}

/** One process per worker, as `fiber worker` runs, with its own connections to every shard. */
function startWorker(worker: number, ports: number[], sizes: number[]): ChildProcess {
  return fork(new URL('./ps-worker.js', import.meta.url), [JSON.stringify({ worker, ports, sizes, token: TOKEN })], { execArgv });
}

/** Send `msg` to every worker and resolve with their answers (the next message of each). */
function all<T>(workers: ChildProcess[], msg: object): Promise<T[]> {
  return Promise.all(workers.map((w) => new Promise<T>((r) => { w.once('message', (m: T) => r(m)); w.send(msg); })));
}

async function sync(loop: Loopback, floats: number, S: number, W: number, reps: number, tuned = true): Promise<Omit<Row, 'gloo' | 'syncVsGloo' | 'stepVsGloo'>> {
  let cpu: [[number, number], [number, number]] | null = null;
  const sizes = Array.from({ length: S }, (_, s) => Math.floor(floats / S) + (s < floats % S ? 1 : 0));
  const shards = sizes.map((size, shard) => startShard(shard, size, W, tuned));
  const workers: ChildProcess[] = [];
  try {
    const ports = await Promise.all(shards.map((t) => new Promise<number>((r) => t.once('message', (m: { port: number }) => r(m.port)))));
    for (let w = 0; w < W; w++) workers.push(startWorker(w, ports, sizes));
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    // The ceiling for this row, measured before the warm-up steps: measuring it between timed
    // steps slowed the next push 2-4x (the reader thread's garbage collection competes for the cores).
    const ceiling = await loop.bestGBs(256 << 20, 3);
    const times: Timed[] = [];
    // Two warm-up steps: the first touches every buffer (page faults), the second settles the JIT.
    const cpuNow = () => {
      const sh = cpuMs(shards.map((c) => c.pid!));
      const wk = cpuMs(workers.map((c) => c.pid!));
      return sh && wk ? [sh, wk] as [[number, number], [number, number]] : null;
    };
    for (let v = 0; v < reps + 2; v++) {
      if (v === 2) cpu = cpuNow();
      const t0 = process.hrtime.bigint();
      const steps = await all<{ pushMs: number; stepMs: number }>(workers, { step: v });
      const step = Number(process.hrtime.bigint() - t0) / 1e6;
      const pulls = await all<{ pullMs: number }>(workers, { pull: v + 1 });
      if (v >= 2) times.push({ push: Math.max(...steps.map((s) => s.pushMs)), step, pull: Math.max(...pulls.map((p) => p.pullMs)) });
    }
    const cpuEnd = cpuNow();
    const perStep = (a: number, b: number) => round((b - a) / reps);
    const cpuPerStep = cpu && cpuEnd ? {
      shardUserMs: perStep(cpu[0][0], cpuEnd[0][0]), shardSysMs: perStep(cpu[0][1], cpuEnd[0][1]),
      workerUserMs: perStep(cpu[1][0], cpuEnd[1][0]), workerSysMs: perStep(cpu[1][1], cpuEnd[1][1]),
    } : null;
    const median = (f: (t: Timed) => number) => times.map(f).sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const bytes = W * 2 * floats * 4; // every worker pushes and pulls the whole model
    const idealMs = bytes / (ceiling * 1e9) * 1000;
    const push = median((t) => t.push);
    const pull = median((t) => t.pull);
    const syncMs = median((t) => t.push + t.pull);
    const stepMs = median((t) => t.step);
    const perWorker = (2 * floats * 4) / (syncMs / 1000) / 1e9;
    return {
      floats, shards: S, workers: W, mallocTuned: tuned, loopbackGBs: round(ceiling), pushMs: round(push), pullMs: round(pull), syncMs: round(syncMs),
      stepMs: round(stepMs), perWorkerGBs: round(perWorker), aggregateGBs: round(perWorker * W),
      vsLoopback: round(syncMs / idealMs), stepVsLoopback: round(stepMs / idealMs), cpuPerStep,
    };
  } finally {
    // Disconnected, each process exits by itself (writing its CPU profile); killed if it hangs.
    await Promise.all([...workers, ...shards].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      const timer = setTimeout(() => c.kill(), 5000);
      c.once('exit', () => { clearTimeout(timer); resolve(); });
      if (c.connected) c.disconnect();
    })));
  }
}

interface Gloo { torch: string; world: number; floats: number; reps: number; allreduceMs: number; allreduceAdamwMs: number; adamwMs: number }

/**
 * A Python with torch.distributed (gloo), or the reason there is none. Debian's python3-torch
 * lives in /usr/bin/python3's dist-packages (a pyenv `python3` first on PATH does not see it);
 * when neither has it and this runs as root, the bench installs it with apt, once.
 */
function findTorchPython(): { python: string } | { skipped: string } {
  const candidates = ['/usr/bin/python3', 'python3'];
  const works = (py: string) => spawnSync(py, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()'], { stdio: 'ignore' }).status === 0;
  const found = () => candidates.find(works);
  let python = found();
  if (!python && process.getuid?.() === 0) {
    process.stderr.write('torch is missing: apt-get install -y --no-install-recommends python3-torch\n');
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-torch'], { stdio: ['ignore', 'ignore', 'inherit'] });
    python = found();
  }
  return python ? { python } : { skipped: 'no python3 with torch (python3-torch) and it could not be installed (not root, or apt failed): gloo rows skipped' };
}

/** The same exchange with torch.distributed gloo all_reduce (bench/baselines/gloo_allreduce.py). */
function gloo(python: string, floats: number, W: number, reps: number): Gloo | null {
  const script = new URL('../../bench/baselines/gloo_allreduce.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, '--world', String(W), '--floats', String(floats), '--reps', String(reps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  if (r.status !== 0) {
    process.stderr.write(`gloo baseline failed (exit ${r.status}): row left without a baseline\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Gloo;
}

const round = (x: number) => Math.round(x * 100) / 100;

const memcpy = round(memcpyGBs());
const loop = new Loopback();
const loopback = round(await loop.bestGBs(512 << 20, 3));
const simd = simdAdamW();
const adamw = { jsNsPerFloat: round(adamwNsPerFloat(adamwUpdate)), simdNsPerFloat: simd ? round(adamwNsPerFloat(simd)) : null };
const torch = findTorchPython();
if ('skipped' in torch) process.stderr.write(`${torch.skipped}\n`);
const M = 1 << 20;
// [floats, shards, workers, with a gloo row]: the gloo rows are the targets' rows (issue 18).
const matrix: Array<[number, number, number, boolean]> = onlyRow ? [[...onlyRow, !process.argv.includes('--no-gloo')]] : quick
  ? [[16 * M, 2, 2, true], [16 * M, 2, 4, true], [64 * M, 2, 2, true], [64 * M, 2, 4, true]]
  : [
    [1 * M, 1, 1, false], [1 * M, 2, 4, false], [1 * M, 4, 8, false],
    [16 * M, 1, 1, false], [16 * M, 2, 2, true], [16 * M, 2, 4, true], [16 * M, 4, 4, false], [16 * M, 2, 8, false],
    [64 * M, 1, 1, false], [64 * M, 2, 2, true], [64 * M, 2, 4, true], [64 * M, 4, 4, false],
    [250_000_000, 2, 1, false], [250_000_000, 4, 2, false],
  ];
const rows: Row[] = [];
const mb = (floats: number) => `${floats * 4 >= 1e9 ? `${(floats * 4 / 1e9).toFixed(0)} GB` : `${Math.round(floats * 4 / 1e6)} MB`}`;
const progress = (r: Row) => {
  rows.push(r);
  process.stderr.write(`${mb(r.floats).padStart(7)}  ${r.shards} shard(s)  ${r.workers} worker(s)${r.mallocTuned ? '' : '  default malloc'}  push ${r.pushMs} + pull ${r.pullMs} = ${r.syncMs} ms (${r.vsLoopback}x loopback at ${r.loopbackGBs} GB/s); step with AdamW ${r.stepMs} ms (${r.stepVsLoopback}x)`
    + (r.cpuPerStep ? `; CPU per step: shards ${r.cpuPerStep.shardUserMs} user + ${r.cpuPerStep.shardSysMs} sys ms, workers ${r.cpuPerStep.workerUserMs} user + ${r.cpuPerStep.workerSysMs} sys ms` : '')
    + (r.gloo ? `; gloo all_reduce ${r.gloo.allreduceMs} ms (${r.syncVsGloo}x), + AdamW ${r.gloo.allreduceAdamwMs} ms (${r.stepVsGloo}x)` : '') + '\n');
};
for (const [floats, S, W, withGloo] of matrix) {
  const reps = floats >= 64 * M ? 3 : 5;
  const r = await sync(loop, floats, S, W, reps);
  // Right after the row, on the same machine state: the baseline of the same run.
  const g = withGloo && 'python' in torch ? gloo(torch.python, floats, W, reps) : null;
  progress({ ...r, gloo: g, syncVsGloo: g ? round(r.syncMs / g.allreduceMs) : null, stepVsGloo: g ? round(r.stepMs / g.allreduceAdamwMs) : null });
}
// Baseline in the same run for the malloc settings: the shards with glibc's defaults (the
// workers keep theirs).
if (!quick && !onlyRow) {
  for (const floats of [16 * M, 64 * M]) progress({ ...(await sync(loop, floats, 1, 1, 3, false)), gloo: null, syncVsGloo: null, stepVsGloo: null });
}
await loop.close();
const big = rows.filter((r) => r.floats * 4 >= 64e6 && r.mallocTuned);
const vsGloo = rows.filter((r) => r.gloo);
const result = {
  bench: 'ps', node: process.version, cores: (await import('node:os')).cpus().length, loadavg: (await import('node:os')).loadavg().map(round),
  memcpyGBs: memcpy, loopbackGBs: loopback, adamw, gloo: 'skipped' in torch ? torch.skipped : torch.python, rows,
  loopbackTargetMet: big.every((r) => r.vsLoopback <= 2),
  syncVsGlooMet: vsGloo.length > 0 ? vsGloo.every((r) => r.syncVsGloo! <= 1) : null,
  stepVsGlooMet: vsGloo.length > 0 ? vsGloo.every((r) => r.stepVsGloo! <= 1) : null,
};
const cell = (x: number | null | undefined, unit = '') => (x === null || x === undefined ? 'n/a' : `${x}${unit}`);
process.stderr.write(`\nmemcpy ${memcpy} GB/s, loopback TCP ${loopback} GB/s at the start (best of 3; each row has its own)\n`
  + `AdamW per parameter: ${adamw.jsNsPerFloat} ns in JS, ${adamw.simdNsPerFloat ?? 'n/a'} ns on wasm SIMD (the shards use the latter)\n`
  + `load average at the end: ${result.loadavg.join(', ')}\n\n`
  + '| params | shards | workers | loopback GB/s | push | pull | sync | x loopback | gloo all_reduce | sync ÷ gloo | step with AdamW | gloo + torch AdamW (AdamW alone) | step ÷ gloo + AdamW |\n'
  + '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
  + rows.map((r) => `| ${r.floats / M >= 1 ? `${Math.round(r.floats / M)}M` : r.floats} (${mb(r.floats)})${r.mallocTuned ? '' : ', shards with default malloc'} | ${r.shards} | ${r.workers} | ${r.loopbackGBs} | ${r.pushMs} ms | ${r.pullMs} ms | ${r.syncMs} ms | ${r.vsLoopback} | ${cell(r.gloo?.allreduceMs, ' ms')} | ${cell(r.syncVsGloo)} | ${r.stepMs} ms | ${r.gloo ? `${r.gloo.allreduceAdamwMs} ms (${r.gloo.adamwMs} ms)` : 'n/a'} | ${cell(r.stepVsGloo)} |`).join('\n') + '\n');
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
