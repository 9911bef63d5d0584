/**
 * Training-step benchmark of the FIBER model on each TensorFlow.js backend present.
 *   node dist/bench/model.js [--presets fiber-tiny,fiber-small,fiber-base] [--backends wasm,cpu]
 *     [--recompute none,blocks] [--stages coarse,fine] [--steps 3] [--json-only]
 * For each (backend, preset, stage, recompute): s/step and samples/s of a training step
 * (lossAndGrads: forward and backward, no optimizer), memory (the wasm heap's high-water mark and
 * the process's max RSS), achieved GFLOP/s (3 x forward matmul FLOPs, counted by the model's
 * matmul helpers) and MFU against the same backend's 2-D matmul rate measured in this run.
 * Each row runs in a process of its own, so its memory is its own and a row that runs out of
 * memory (wasm aborts) is reported as such instead of ending the run.
 *
 * Baseline in the same run (issue 18): `--vs-torch` compares the coarse step (loss + gradients, no
 * optimizer) with the same model, batch and masked positions in PyTorch float32, one thread each
 * (bench/baselines/fiber_torch.py), in interleaved rounds (fiber, torch, fiber, torch, ...):
 *   node dist/bench/model.js --vs-torch [--presets fiber-tiny,fiber-small] [--rounds 2] [--steps 2]
 * Debian's python3-torch is installed when missing (as root); if it cannot be, the rows say so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, chooseBackend, type BackendName } from '../src/model/backend.js';
import { maskTokens } from '../src/data/pipeline/mlm-mask.js';
import { createRng } from '../src/data/pipeline/rng.js';
import type { CoarseBatch, FineBatch } from '../src/model/batch.js';
import { FiberModel } from '../src/model/fiber-model.js';
import { lossAndGrads } from '../src/model/loss-and-grads.js';
import { MODEL_PRESETS, type FiberModelConfig, type ModelPresetName } from '../src/model/model-config.js';
import { numel, paramSpecs } from '../src/model/param-spec.js';
import { flopCounter } from '../src/model/ops/flop-counter.js';
import type { RecomputeMode } from '../src/model/ops/block-call.js';
import type { Stage } from '../src/model/param-spec.js';
import { SeededRng } from '../src/model/seeded-rng.js';

interface Row {
  backend: string; preset: string; stage: Stage; recompute: RecomputeMode; batch: number; textLength: number;
  /** Input image height x width in pixels. */
  image: string;
  stepSeconds: number; samplesPerSecond: number; gflopPerStep: number; achievedGflops: number;
  matmulGflops: number; mfu: number;
  /** wasm: the heap's size after the step (it only grows: the high-water mark); else null. */
  heapMB: number | null;
  maxRssMB: number;
}

interface Failed { backend: string; preset: string; stage: Stage; recompute: RecomputeMode; error: string }

/**
 * Micro-batch per preset: fiber-tiny at the brief's batch 8; fiber-small at 2 (its coarse step
 * peaks at ~2.4 GB of tensors at B = 2, ~4.0 GB at B = 4: the edge of the 4 GiB wasm heap).
 */
const SHAPES: Record<string, { b: number; l: number; fineL?: number; fineImage: readonly [number, number] }> = {
  // Fine images at each preset's largest multi-scale size, non-square (H x W, multiples of 32).
  'fiber-tiny': { b: 8, l: 16, fineImage: [64, 96] }, 'fiber-small': { b: 2, l: 40, fineImage: [128, 192] },
  // The reference pads every fine-stage query to 256 tokens (MAX_QUERY_LEN, PAD_MAX); its images
  // have a shorter side of 800 and a longer one up to 1333: 800 x 1088 is a 4:3 photo after the
  // pad to 32.
  'fiber-base': { b: 1, l: 40, fineL: 256, fineImage: [800, 1088] },
};
/** fiber-base steps take a minute on wasm: no warm-up step there, one timed step by default. */
const SLOW = new Set<string>(['fiber-base']);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function coarseBatch(cfg: FiberModelConfig, b: number, l: number): CoarseBatch {
  const rng = new SeededRng(1);
  const s = cfg.imageSize;
  const inputIds = new Int32Array(b * l).map((_, i) => (i % l === 0 ? 0 : i % l === l - 1 ? 2 : 4 + rng.int(cfg.vocabSize - 5)));
  const attentionMask = new Int32Array(b * l).fill(1);
  // MLM as the data path masks (every position but <s> and </s> ordinary; random ids from the whole vocabulary).
  const { ids: mlmInputIds, labels: mlmLabels } = maskTokens(inputIds, inputIds.map((id) => (id === 0 || id === 2 ? 1 : 0)), cfg.vocabSize - 1, Int32Array.from({ length: cfg.vocabSize }, (_, i) => i), createRng(2));
  return { pixelValues: new Float32Array(b * 3 * s * s).map(() => rng.normal()), inputIds, attentionMask, mlmInputIds, mlmLabels, numSamples: b, imageSize: s, textLength: l };
}

function fineBatch(cfg: FiberModelConfig, b: number, l: number, [h, w]: readonly [number, number]): FineBatch {
  const c = coarseBatch(cfg, b, l);
  const rng = new SeededRng(3);
  const s = Math.min(h, w), m = 4;
  const boxes = new Float32Array(b * m * 4), boxMask = new Int32Array(b * m).fill(1), positiveMap = new Float32Array(b * m * l);
  for (let i = 0; i < b * m; i++) {
    const size = s * (0.1 + 0.2 * (i % 4));
    boxes.set([(i % 3) * 0.1 * s, (i % 2) * 0.2 * s, (i % 3) * 0.1 * s + size, (i % 2) * 0.2 * s + size], i * 4);
    positiveMap[i * l + 1 + (i % (l - 2))] = 1;
  }
  const pixelValues = new Float32Array(b * 3 * h * w).map(() => rng.normal());
  return { pixelValues, inputIds: c.inputIds, attentionMask: c.attentionMask, boxes, boxMask, positiveMap, numSamples: b, imageHeight: h, imageWidth: w, textLength: l, maxBoxes: m };
}

/** Best-of-5 GFLOP/s of an n x n x n 2-D non-transposed matmul on the active backend. */
async function matmulRate(n: number): Promise<number> {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  tf.tidy(() => {
    tf.matMul(a, b).dataSync(); // returning the array from tidy would make tidy walk every element
  });
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    tf.tidy(() => {
      tf.matMul(a, b).dataSync();
    });
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / best / 1e9;
}

function wasmHeapMB(): number | null {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  return wasm ? wasm.HEAPU8.byteLength / 2 ** 20 : null;
}

async function benchOne(backend: string, preset: ModelPresetName, stage: Stage, recompute: RecomputeMode, steps: number, matmulGflops: number): Promise<Row> {
  const cfg = { ...MODEL_PRESETS[preset], recompute };
  const shape = SHAPES[preset]!;
  const b = shape.b, l = stage === 'fine' ? shape.fineL ?? shape.l : shape.l;
  const model = FiberModel.init(cfg, stage, 0);
  const batch = stage === 'coarse' ? coarseBatch(cfg, b, l) : fineBatch(cfg, b, l, shape.fineImage);
  const image = stage === 'coarse' ? `${cfg.imageSize}x${cfg.imageSize}` : shape.fineImage.join('x');
  if (!SLOW.has(preset)) await lossAndGrads(model, batch, 0); // warm-up (kernel caches)
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    flopCounter.forward = 0;
    const t = performance.now();
    await lossAndGrads(model, batch, 2 + i);
    times.push((performance.now() - t) / 1000);
  }
  const flops = 3 * flopCounter.forward; // replays inside the backward pass are not counted (ops/block-call.ts)
  model.dispose();
  times.sort((x, y) => x - y);
  const step = times[Math.floor(times.length / 2)]!;
  const achieved = flops / step / 1e9;
  return {
    backend, preset, stage, recompute, batch: b, textLength: l, image, stepSeconds: step, samplesPerSecond: b / step,
    gflopPerStep: flops / 1e9, achievedGflops: achieved, matmulGflops, mfu: achieved / matmulGflops,
    heapMB: wasmHeapMB(), maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

/** One row, in this process: what a child started by main() runs. */
async function runRow(spec: string, steps: number): Promise<void> {
  const [backend, preset, stage, recompute] = spec.split(':') as [BackendName, ModelPresetName, Stage, RecomputeMode];
  await chooseBackend(backend);
  const rate = await matmulRate(1024);
  const row = await benchOne(backend, preset, stage, recompute, steps, rate);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

async function main(): Promise<void> {
  const row = arg('row', '');
  if (row) return runRow(row, Number(arg('steps', '1')));
  if (process.argv.includes('--vs-torch')) return vsTorch();
  const presets = arg('presets', 'fiber-tiny,fiber-small').split(',') as ModelPresetName[];
  const backends = arg('backends', BACKEND_NAMES.join(',')).split(',') as BackendName[];
  const recomputes = arg('recompute', 'none,blocks').split(',') as RecomputeMode[];
  const stepsArg = process.argv.includes('--steps') ? Number(arg('steps', '3')) : undefined;
  const quiet = process.argv.includes('--json-only');
  const rows: Row[] = [];
  const failed: Failed[] = [];
  const skipped: string[] = [];
  for (const backend of backends) {
    try {
      await chooseBackend(backend);
    } catch (err) {
      skipped.push(`${backend}: ${(err as Error).message.split(';')[0]}`);
      continue;
    }
    for (const preset of presets) {
      if (backend === 'cpu' && preset !== 'fiber-tiny' && !process.argv.includes('--all')) {
        skipped.push(`cpu/${preset}: skipped (pure-JS backend, minutes per step; pass --all)`);
        continue;
      }
      for (const stage of arg('stages', 'coarse,fine').split(',') as Stage[]) {
        for (const recompute of recomputes) {
          const steps = stepsArg ?? (SLOW.has(preset) ? 1 : 3);
          const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--row', `${backend}:${preset}:${stage}:${recompute}`, '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 16 << 20 });
          const line = child.stdout.trim().split('\n').pop() ?? '';
          if (child.status === 0 && line.startsWith('{')) rows.push(JSON.parse(line) as Row);
          else failed.push({ backend, preset, stage, recompute, error: firstError(child.stderr, child.status, child.signal) });
          if (!quiet) process.stderr.write(`done ${backend} ${preset} ${stage} recompute=${recompute}${child.status === 0 ? '' : ' (failed)'}\n`);
        }
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ rows, failed, skipped }, null, 2)}\n`);
  if (quiet) return;
  const head = ['backend', 'preset', 'stage', 'recompute', 'B', 'L', 'image', 's/step', 'samples/s', 'GFLOP/step', 'GFLOP/s', 'matmul GFLOP/s', 'MFU', 'wasm heap MB', 'max RSS MB'];
  const lines = [head, ...rows.map((r) => [r.backend, r.preset, r.stage, r.recompute, r.batch, r.textLength, r.image, r.stepSeconds.toFixed(2), r.samplesPerSecond.toFixed(2), r.gflopPerStep.toFixed(2), r.achievedGflops.toFixed(2), r.matmulGflops.toFixed(1), `${(100 * r.mfu).toFixed(1)}%`, r.heapMB === null ? '-' : r.heapMB.toFixed(0), r.maxRssMB.toFixed(0)].map(String))];
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  process.stdout.write(`\n${lines.map((l) => l.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n')}\n`);
  for (const f of failed) process.stdout.write(`failed ${f.backend} ${f.preset} ${f.stage} recompute=${f.recompute}: ${f.error}\n`);
  for (const s of skipped) process.stdout.write(`skipped ${s}\n`);
}

const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/baselines/fiber_torch.py', import.meta.url));

/**
 * A Python with torch: `python3` on PATH, else Debian's /usr/bin/python3 (a pyenv python3 on PATH
 * does not see Debian's dist-packages); installs python3-torch with apt when root and it is missing.
 * Returns the interpreter, or why there is none.
 */
function torchPython(): { python?: string; torch?: string; why?: string } {
  const probe = (py: string) => spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  const apt = (pkg: string) => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const root = process.getuid?.() === 0;
  // libtorch only Recommends OpenBLAS: without it (--no-install-recommends) torch runs on the
  // reference BLAS, ~20x slower, which would make a baseline nobody would choose.
  if (root && !existsSync(OPENBLAS_DIR)) {
    process.stderr.write('installing libopenblas0-pthread (apt-get)...\n');
    apt('libopenblas0-pthread');
  }
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = probe(py);
    if (r.status === 0) return { python: py, torch: r.stdout.trim() };
  }
  if (!root) return { why: 'no python3 with torch, and not root to apt-get install python3-torch' };
  process.stderr.write('installing python3-torch (apt-get)...\n');
  const res = apt('python3-torch');
  const r = probe('/usr/bin/python3');
  if (r.status === 0) return { python: '/usr/bin/python3', torch: r.stdout.trim() };
  return { why: `apt-get install python3-torch failed (exit ${res.status}): ${(res.stderr || res.stdout).trim().split('\n').pop()}` };
}

/** Debian's OpenBLAS (libopenblas0-pthread) provides its own libblas.so.3 here. */
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

/** One thread in every pool torch might use; OpenBLAS's libblas.so.3 first when it is installed. */
function torchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  if (existsSync(OPENBLAS_DIR)) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface TorchOut { torch: string; threads: number; blas: string[]; stepSeconds: number[]; params: number; gradBytes: number; loss: number }

/** Coarse step, fiber (wasm) vs PyTorch (CPU, 1 thread), interleaved rounds per preset. */
async function vsTorch(): Promise<void> {
  const presets = arg('presets', 'fiber-tiny,fiber-small').split(',') as ModelPresetName[];
  const rounds = Number(arg('rounds', '2'));
  const steps = Number(arg('steps', '2'));
  const py = torchPython();
  const dir = mkdtempSync(join(tmpdir(), 'fiber-bench-model-'));
  const out: unknown[] = [];
  const lines: string[] = ['| preset | B | L | round | load avg (1 min) | fiber s/step | torch s/step | fiber ÷ torch |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  try {
    for (const preset of presets) {
      const cfg = MODEL_PRESETS[preset];
      const { b, l } = SHAPES[preset]!;
      const batch = coarseBatch(cfg, b, l);
      const specPath = join(dir, `${preset}.json`);
      writeFileSync(specPath, JSON.stringify({ config: cfg, batch: b, length: l, inputIds: [...batch.inputIds], attentionMask: [...batch.attentionMask], mlmInputIds: [...batch.mlmInputIds], mlmLabels: [...batch.mlmLabels] }));
      const fiberParams = paramSpecs(cfg, 'coarse').reduce((a, s) => a + numel(s.shape), 0);
      const rows: { round: number; load: number; fiber: number; torch: number | null; ratio: number | null }[] = [];
      let torchInfo: Omit<TorchOut, 'stepSeconds' | 'loss'> | undefined;
      let torchError = py.why;
      for (let r = 1; r <= rounds; r++) {
        const load = loadavg()[0]!;
        const f = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--row', `wasm:${preset}:coarse:none`, '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 16 << 20 });
        const fl = f.stdout.trim().split('\n').pop() ?? '';
        if (f.status !== 0 || !fl.startsWith('{')) throw new Error(`fiber ${preset} failed: ${firstError(f.stderr, f.status, f.signal)}`);
        const fiberStep = (JSON.parse(fl) as Row).stepSeconds;
        let torchStep: number | null = null;
        if (py.python && !torchError) {
          const t = spawnSync(py.python, [TORCH_SCRIPT, '--spec', specPath, '--steps', String(steps), '--threads', '1'], { encoding: 'utf8', maxBuffer: 16 << 20, env: torchEnv() });
          const tl = t.stdout.trim().split('\n').pop() ?? '';
          if (t.status === 0 && tl.startsWith('{')) {
            const o = JSON.parse(tl) as TorchOut;
            torchStep = median(o.stepSeconds);
            torchInfo = { torch: o.torch, threads: o.threads, blas: o.blas, params: o.params, gradBytes: o.gradBytes };
            if (o.params !== fiberParams) torchError = `torch model has ${o.params} parameters, fiber ${fiberParams}: not the same model`;
          } else torchError = `fiber_torch.py failed: ${(t.stderr || '').trim().split('\n').pop()}`;
        }
        const ratio = torchStep && !torchError ? fiberStep / torchStep : null;
        rows.push({ round: r, load, fiber: fiberStep, torch: torchError ? null : torchStep, ratio });
        lines.push(`| ${preset} | ${b} | ${l} | ${r} | ${load.toFixed(2)} | ${fiberStep.toFixed(2)} | ${torchError || torchStep === null ? '-' : torchStep.toFixed(2)} | ${ratio === null ? '-' : `${ratio.toFixed(2)}x`} |`);
        if (!process.argv.includes('--json-only')) process.stderr.write(`${lines[lines.length - 1]}\n`);
      }
      const ratios = rows.map((x) => x.ratio).filter((x): x is number => x !== null);
      out.push({ preset, batch: b, length: l, fiberParams, torch: torchInfo ?? null, skipped: torchError ?? null, rounds: rows, medianRatio: ratios.length ? median(ratios) : null });
      if (torchError) lines.push(`| ${preset} | | | torch row skipped: ${torchError} | | | | |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify({ bench: 'model --vs-torch', stage: 'coarse', fiberBackend: 'wasm (1 thread)', python: py.python ?? null, results: out }, null, 2)}\n`);
  if (!process.argv.includes('--json-only')) process.stdout.write(`\n${lines.join('\n')}\n`);
}

/** What a failed row says: wasm's abort when the 4 GiB heap is exhausted, else the error's first line. */
function firstError(stderr: string, status: number | null, signal: string | null): string {
  if (/Aborted\(\)/.test(stderr)) return 'out of memory (the wasm heap is capped at 4 GiB: Aborted())';
  // When the heap cannot grow, the wasm backend can also die on the null pointer it got back.
  const crash = /RuntimeError: (memory access out of bounds|null function[^\n]*)/.exec(stderr);
  if (crash) return `crashed inside the wasm backend (${crash[1]}), as when its 4 GiB heap is exhausted`;
  const line = stderr.split('\n').find((l) => /Error|error/.test(l));
  return line?.trim() ?? `exit ${status ?? signal}`;
}

await main();
