/**
 * Training-step benchmark of the FIBER model on each TensorFlow.js backend present.
 *   node dist/bench/model.js [--presets fiber-tiny,fiber-small] [--backends wasm,cpu] [--steps 3] [--json-only]
 * For each (backend, preset): samples/s of a coarse and a fine training step (lossAndGrads: forward
 * and backward, no optimizer), peak tensor memory of one step (tf.profile) and the process's
 * max RSS, achieved GFLOP/s (3 x forward matmul FLOPs, counted by the model's matmul helpers)
 * and MFU against the same backend's 2-D matmul rate measured in this run.
 */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, chooseBackend, type BackendName } from '../src/model/backend.js';
import { maskTokens } from '../src/data/pipeline/mlm-mask.js';
import { createRng } from '../src/data/pipeline/rng.js';
import type { CoarseBatch, FineBatch } from '../src/model/batch.js';
import { FiberModel } from '../src/model/fiber-model.js';
import { lossAndGrads } from '../src/model/loss-and-grads.js';
import { MODEL_PRESETS, type FiberModelConfig, type ModelPresetName } from '../src/model/model-config.js';
import { flopCounter } from '../src/model/ops/flop-counter.js';
import type { Stage } from '../src/model/param-spec.js';
import { SeededRng } from '../src/model/seeded-rng.js';

interface Row {
  backend: string; preset: string; stage: Stage; batch: number; textLength: number;
  stepSeconds: number; samplesPerSecond: number; gflopPerStep: number; achievedGflops: number;
  matmulGflops: number; mfu: number; peakTensorMB: number; maxRssMB: number;
}

/**
 * Micro-batch per preset: fiber-tiny at the brief's batch 8; fiber-small at 2 (its coarse step
 * peaks at ~2.4 GB of tensors at B = 2, ~4.0 GB at B = 4: the edge of the 4 GiB wasm heap).
 */
const SHAPES: Record<string, { b: number; l: number }> = { 'fiber-tiny': { b: 8, l: 16 }, 'fiber-small': { b: 2, l: 40 }, 'fiber-base': { b: 1, l: 40 } };

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

function fineBatch(cfg: FiberModelConfig, b: number, l: number): FineBatch {
  const c = coarseBatch(cfg, b, l);
  const s = cfg.imageSize, m = 4;
  const boxes = new Float32Array(b * m * 4), boxMask = new Int32Array(b * m).fill(1), positiveMap = new Float32Array(b * m * l);
  for (let i = 0; i < b * m; i++) {
    const size = s * (0.1 + 0.2 * (i % 4));
    boxes.set([(i % 3) * 0.1 * s, (i % 2) * 0.2 * s, (i % 3) * 0.1 * s + size, (i % 2) * 0.2 * s + size], i * 4);
    positiveMap[i * l + 1 + (i % (l - 2))] = 1;
  }
  return { pixelValues: c.pixelValues, inputIds: c.inputIds, attentionMask: c.attentionMask, boxes, boxMask, positiveMap, numSamples: b, imageSize: s, textLength: l, maxBoxes: m };
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

async function benchOne(backend: string, preset: ModelPresetName, stage: Stage, steps: number, matmulGflops: number): Promise<Row> {
  const cfg = MODEL_PRESETS[preset];
  const { b, l } = SHAPES[preset]!;
  const model = FiberModel.init(cfg, stage, 0);
  const batch = stage === 'coarse' ? coarseBatch(cfg, b, l) : fineBatch(cfg, b, l);
  await lossAndGrads(model, batch, 0); // warm-up (kernel compilation, caches)
  flopCounter.forward = 0;
  const prof = await tf.profile(async () => {
    await lossAndGrads(model, batch, 1);
  });
  const flops = 3 * flopCounter.forward;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await lossAndGrads(model, batch, 2 + i);
    times.push((performance.now() - t) / 1000);
  }
  model.dispose();
  times.sort((x, y) => x - y);
  const step = times[Math.floor(times.length / 2)]!;
  const achieved = flops / step / 1e9;
  return {
    backend, preset, stage, batch: b, textLength: l, stepSeconds: step, samplesPerSecond: b / step,
    gflopPerStep: flops / 1e9, achievedGflops: achieved, matmulGflops, mfu: achieved / matmulGflops,
    peakTensorMB: prof.peakBytes / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const presets = arg('presets', 'fiber-tiny,fiber-small').split(',') as ModelPresetName[];
  const backends = arg('backends', BACKEND_NAMES.join(',')).split(',') as BackendName[];
  const steps = Number(arg('steps', '3'));
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const backend of backends) {
    try {
      await chooseBackend(backend);
    } catch (err) {
      skipped.push(`${backend}: ${(err as Error).message.split(';')[0]}`);
      continue;
    }
    const rate = await matmulRate(1024);
    for (const preset of presets) {
      if (backend === 'cpu' && preset !== 'fiber-tiny' && !process.argv.includes('--all')) {
        skipped.push(`cpu/${preset}: skipped (pure-JS backend, minutes per step; pass --all)`);
        continue;
      }
      for (const stage of ['coarse', 'fine'] as const) {
        rows.push(await benchOne(backend, preset, stage, steps, rate));
        if (!process.argv.includes('--json-only')) process.stderr.write(`done ${backend} ${preset} ${stage}\n`);
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ rows, skipped }, null, 2)}\n`);
  if (process.argv.includes('--json-only')) return;
  const head = ['backend', 'preset', 'stage', 'B', 'L', 's/step', 'samples/s', 'GFLOP/step', 'GFLOP/s', 'matmul GFLOP/s', 'MFU', 'peak tensors MB', 'max RSS MB'];
  const lines = [head, ...rows.map((r) => [r.backend, r.preset, r.stage, r.batch, r.textLength, r.stepSeconds.toFixed(2), r.samplesPerSecond.toFixed(2), r.gflopPerStep.toFixed(2), r.achievedGflops.toFixed(2), r.matmulGflops.toFixed(1), `${(100 * r.mfu).toFixed(1)}%`, r.peakTensorMB.toFixed(0), r.maxRssMB.toFixed(0)].map(String))];
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  process.stdout.write(`\n${lines.map((l) => l.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n')}\n`);
  for (const s of skipped) process.stdout.write(`skipped ${s}\n`);
}

await main();
