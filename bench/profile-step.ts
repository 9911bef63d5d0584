/**
 * Where a training step's time goes, by kernel: node dist/bench/profile-step.js [preset] [coarse|fine] [B] [L]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/backend.js';
import { maskTokens } from '../src/data/pipeline/mlm-mask.js';
import { createRng } from '../src/data/pipeline/rng.js';
import { FiberModel } from '../src/model/fiber-model.js';
import { lossAndGrads } from '../src/model/loss-and-grads.js';
import { MODEL_PRESETS, type ModelPresetName } from '../src/model/model-config.js';
import { SeededRng } from '../src/model/seeded-rng.js';

const preset = (process.argv[2] ?? 'fiber-tiny') as ModelPresetName;
const b = Number(process.argv[4] ?? 8), l = Number(process.argv[5] ?? 16);
const cfg = MODEL_PRESETS[preset];
console.log(await selectBackend());
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
console.log('step', ((performance.now() - t) / 1000).toFixed(2), 's');
const prof = await tf.profile(async () => {
  await lossAndGrads(model, batch, 1);
});
const by = new Map<string, [number, number]>();
for (const k of prof.kernels) {
  const e = by.get(k.name) ?? [0, 0];
  by.set(k.name, [e[0] + (k.kernelTimeMs as number), e[1] + 1]);
}
const total = [...by.values()].reduce((a, v) => a + v[0], 0);
console.log('kernels', prof.kernels.length, 'kernel ms', total.toFixed(0), 'peak MB', (prof.peakBytes / 2 ** 20).toFixed(0));
for (const [n, [ms, c]] of [...by].sort((x, y) => y[1][0] - x[1][0]).slice(0, 15)) console.log(n.padEnd(24), ms.toFixed(1).padStart(8), String(c).padStart(6));
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
