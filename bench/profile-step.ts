/**
 * Where a coarse training step's time goes, by kernel, on the active backend (wasm here):
 *   node dist/bench/profile-step.js [preset] [coarse] [B] [L] [--detail] [--memory] [--json]
 * Reports the step's wall time, the kernel count, and the kernels in classes (issue 18):
 *   - matmul on XNNPACK: 2-D, non-transposed `BatchMatMul` (the wasm backend's fast path);
 *   - matmul off XNNPACK: batched (rank 3) or transposed, which the wasm backend runs as a
 *     scalar loop (tfjs-notes §1): attention scores and weighted sums, and their gradients;
 *   - transposes and copies (Concat, Slice, SplitV, Pad, Tile, Gather, ScatterNd, ...);
 *   - element-wise and reductions: everything else;
 *   - outside kernels: the step's wall time minus the kernels' (tfjs's engine: tape, scopes,
 *     dispatch; and JS around the model).
 * Kernel times come from tf.profile on a third step (the second is timed without the profiler).
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/backend.js';
import { maskTokens } from '../src/data/pipeline/mlm-mask.js';
import { createRng } from '../src/data/pipeline/rng.js';
import { FiberModel } from '../src/model/fiber-model.js';
import { lossAndGrads } from '../src/model/loss-and-grads.js';
import { MODEL_PRESETS, type ModelPresetName } from '../src/model/model-config.js';
import { SeededRng } from '../src/model/seeded-rng.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const preset = (positional[0] ?? 'fiber-tiny') as ModelPresetName;
const b = Number(positional[2] ?? 8), l = Number(positional[3] ?? 16);
const json = process.argv.includes('--json');
const cfg = MODEL_PRESETS[preset];
const backend = await selectBackend();
const rng = new SeededRng(1);
const s = cfg.imageSize;
const inputIds = new Int32Array(b * l).map((_, i) => (i % l === 0 ? 0 : i % l === l - 1 ? 2 : 4 + rng.int(cfg.vocabSize - 5)));
const attentionMask = new Int32Array(b * l).fill(1);
// MLM as the data path masks (every position but <s> and </s> ordinary; random ids from the whole vocabulary).
const { ids: mlmInputIds, labels: mlmLabels } = maskTokens(inputIds, inputIds.map((id) => (id === 0 || id === 2 ? 1 : 0)), cfg.vocabSize - 1, Int32Array.from({ length: cfg.vocabSize }, (_, i) => i), createRng(2));
const batch = { pixelValues: new Float32Array(b * 3 * s * s).map(() => rng.normal()), inputIds, attentionMask, mlmInputIds, mlmLabels, numSamples: b, imageSize: s, textLength: l };
const model = FiberModel.init(cfg, 'coarse', 0);
await lossAndGrads(model, batch, 0);
const t = performance.now();
await lossAndGrads(model, batch, 1);
const stepMs = performance.now() - t;
let profiledMs = 0;
const prof = await tf.profile(async () => {
  const t1 = performance.now();
  await lossAndGrads(model, batch, 1);
  profiledMs = performance.now() - t1;
});

type Kernel = (typeof prof.kernels)[number];
const COPIES = new Set(['Concat', 'Slice', 'SplitV', 'Unpack', 'Pack', 'PadV2', 'Tile', 'GatherV2', 'GatherNd', 'ScatterNd', 'OneHot', 'StridedSlice', 'MirrorPad']);
/**
 * tf.profile also lists scopes that wrap kernels (a customGrad's forward, ops built from ops):
 * their time includes their kernels', so only registered kernels are summed.
 */
const isKernel = (k: Kernel) => tf.getKernel(k.name, tf.getBackend()) !== undefined;
/** Multiply-add FLOPs of a BatchMatMul from its input shapes, and whether it can be XNNPACK's 2-D non-transposed path. */
function matmulInfo(k: Kernel): { flops: number; fast: boolean } {
  const [a, bb] = k.inputShapes as number[][];
  if (!a || !bb) return { flops: 0, fast: false };
  const batchA = a.slice(0, -2).reduce((x, y) => x * y, 1), batchB = bb.slice(0, -2).reduce((x, y) => x * y, 1);
  const [ar, ac] = a.slice(-2) as [number, number], [br, bc] = bb.slice(-2) as [number, number];
  // Which dims are shared: plain (ac = br), transposed B (ac = bc), transposed A (ar = br).
  const plain = ac === br;
  const [m, kk, n] = plain ? [ar, ac, bc] : ac === bc ? [ar, ac, br] : [ac, ar, bc];
  return { flops: 2 * Math.max(batchA, batchB) * m * kk * n, fast: plain && a.length === 2 && bb.length === 2 };
}
function classOf(k: Kernel): string {
  if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') return matmulInfo(k).fast ? 'matmul on XNNPACK (2-D)' : 'matmul off XNNPACK (batched/transposed)';
  if (k.name === 'Transpose') return 'transpose';
  if (k.name === 'Reshape') return 'reshape (no data moved)';
  if (k.name === 'Identity' || k.name === 'Cast') return 'identity (tape saves; buffer shared on wasm)';
  if (COPIES.has(k.name)) return 'copies (concat, slice, split, pad, tile, gather, scatter)';
  return 'element-wise and reductions';
}
const byClass = new Map<string, { ms: number; n: number; flops: number; bytes: number }>();
const byName = new Map<string, [number, number]>();
const kernels = prof.kernels.filter(isKernel);
for (const k of kernels) {
  const c = classOf(k);
  const e = byClass.get(c) ?? { ms: 0, n: 0, flops: 0, bytes: 0 };
  e.ms += k.kernelTimeMs as number;
  e.n += 1;
  if (c.startsWith('matmul')) e.flops += matmulInfo(k).flops;
  if (c === 'transpose' || c.startsWith('copies')) e.bytes += 4 * (k.outputShapes[0] ?? []).reduce((x, y) => x * y, 1);
  byClass.set(c, e);
  const n = byName.get(k.name) ?? [0, 0];
  byName.set(k.name, [n[0] + (k.kernelTimeMs as number), n[1] + 1]);
}
const kernelMs = [...byClass.values()].reduce((a, e) => a + e.ms, 0);
const classes = [...byClass].sort((x, y) => y[1].ms - x[1].ms).map(([name, e]) => ({
  class: name, kernels: e.n, ms: +e.ms.toFixed(1), shareOfStep: +(e.ms / profiledMs).toFixed(3),
  ...(e.flops ? { gflop: +(e.flops / 1e9).toFixed(3), gflops: +(e.flops / 1e6 / e.ms).toFixed(2) } : {}),
  ...(e.bytes ? { mbWritten: +(e.bytes / 2 ** 20).toFixed(1) } : {}),
}));
const summary = {
  preset, stage: 'coarse', batch: b, textLength: l, backend: backend.name, stepMs: +stepMs.toFixed(0), kernels: kernels.length,
  profiledStepMs: +profiledMs.toFixed(0), kernelMs: +kernelMs.toFixed(0), outsideKernelsMs: +(profiledMs - kernelMs).toFixed(0), peakMB: +(prof.peakBytes / 2 ** 20).toFixed(0), classes,
};
if (json) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  console.log(`${preset} coarse B=${b} L=${l} on ${backend.name}: step ${(stepMs / 1000).toFixed(2)} s unprofiled, ${(profiledMs / 1000).toFixed(2)} s profiled; ${kernels.length} kernels, ${kernelMs.toFixed(0)} ms in kernels, ${(profiledMs - kernelMs).toFixed(0)} ms outside them (shares below: of the profiled step)`);
  console.log('\n| class | kernels | ms | share of step | GFLOP | GFLOP/s | MB written |\n| --- | --- | --- | --- | --- | --- | --- |');
  for (const c of classes) console.log(`| ${c.class} | ${c.kernels} | ${c.ms.toFixed(0)} | ${(100 * c.shareOfStep).toFixed(0)}% | ${c.gflop ?? ''} | ${c.gflops ?? ''} | ${c.mbWritten ?? ''} |`);
  console.log(`| outside kernels (engine, JS) | | ${(profiledMs - kernelMs).toFixed(0)} | ${(100 * (1 - kernelMs / profiledMs)).toFixed(0)}% | | | |`);
  console.log('\nby kernel (top 15): name, ms, count');
  for (const [n, [ms, c]] of [...byName].sort((x, y) => y[1][0] - x[1][0]).slice(0, 15)) console.log(n.padEnd(24), ms.toFixed(1).padStart(8), String(c).padStart(6));
}
if (process.argv.includes('--detail')) {
  const shapes = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    if (k.name !== 'BatchMatMul' && k.name !== 'Transpose') continue;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const e = shapes.get(key) ?? [0, 0];
    shapes.set(key, [e[0] + (k.kernelTimeMs as number), e[1] + 1]);
  }
  for (const [n, [ms, c]] of [...shapes].sort((x, y) => y[1][0] - x[1][0]).slice(0, 25)) console.log(n.padEnd(70), ms.toFixed(1).padStart(8), String(c).padStart(6));
}
if (process.argv.includes('--memory')) {
  const big = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    const key = `${k.name} ${JSON.stringify(k.outputShapes)}`;
    const e = big.get(key) ?? [0, 0];
    big.set(key, [e[0] + k.bytesAdded / 2 ** 20, e[1] + 1]);
  }
  for (const [n, [mb, c]] of [...big].sort((x, y) => y[1][0] - x[1][0]).slice(0, 20)) console.log(n.padEnd(70), mb.toFixed(1).padStart(8), 'MB', String(c).padStart(6));
}
model.dispose();
