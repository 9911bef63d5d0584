import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { initParams } from '../../src/model/init-params.js';
import { lossAndGrads } from '../../src/model/loss-and-grads.js';
import type { FiberModelConfig } from '../../src/model/model-config.js';
import { modelLayout } from '../../src/model/fusion-layout.js';
import type { Stage } from '../../src/model/param-spec.js';
import { swinBlockParamNames } from '../../src/model/swin.js';
import { robertaLayerParamNames } from '../../src/model/roberta.js';
import { makeCoarseBatch, makeFineBatch, TINY } from './fixtures.js';

before(async () => {
  await selectBackend();
});

// Dropout and stochastic depth on, so the recomputation must replay the forward's masks; gates
// open, so the fusion weights behind them get non-zero gradients too.
const CFG: FiberModelConfig = { ...TINY, dropout: 0.1, dropPath: 0.2 };

function openGates(stage: Stage, seed: number): Map<string, Float32Array> {
  const w = initParams(CFG, stage, seed);
  for (const [n, d] of w) if (/alpha_(i2t|t2i)$/.test(n)) d[0] = 0.4;
  return w;
}

async function gradsWith(recompute: 'none' | 'blocks', stage: Stage) {
  const cfg = { ...CFG, recompute };
  const model = new FiberModel(cfg, stage, openGates(stage, 3));
  const batch = stage === 'coarse' ? makeCoarseBatch(cfg, 3, 8, 21) : makeFineBatch(cfg, 2, 8, 21, true, 96); // 64 x 96: the padded windows too
  const before = tf.memory().numTensors;
  const prof = await tf.profile(async () => {
    await lossAndGrads(model, batch, 5);
    return [];
  });
  const r = await lossAndGrads(model, batch, 5);
  const leaked = tf.memory().numTensors - before;
  model.dispose();
  return { r, peakBytes: prof.peakBytes, leaked };
}

for (const stage of ['coarse', 'fine'] as const satisfies readonly Stage[]) {
  test(`${stage}: recompute=blocks gives bit-identical loss and gradients to recompute=none, with less memory`, async (t) => {
    const none = await gradsWith('none', stage);
    const blocks = await gradsWith('blocks', stage);
    assert.equal(blocks.r.loss, none.r.loss);
    assert.deepEqual(blocks.r.lossesByObjective, none.r.lossesByObjective);
    assert.equal(blocks.r.grads.size, none.r.grads.size);
    let nonZero = 0;
    for (const [name, g] of none.r.grads) {
      const h = blocks.r.grads.get(name)!;
      assert.ok(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(h.buffer, h.byteOffset, h.byteLength)), `${name}: gradients differ`);
      if (g.some((v) => v !== 0)) nonZero++;
    }
    assert.ok(nonZero > none.r.grads.size * 0.9, 'the comparison covers real gradients');
    assert.equal(none.leaked, 0, 'recompute=none leaves no tensor behind');
    assert.equal(blocks.leaked, 0, 'recompute=blocks leaves no tensor behind');
    t.diagnostic(`peak tensor bytes: none ${none.peakBytes}, blocks ${blocks.peakBytes}`);
    assert.ok(blocks.peakBytes < none.peakBytes, `peak ${blocks.peakBytes} B with recompute, ${none.peakBytes} B without`);
  });
}

test('block parameter lists name exactly the parameters each block reads', () => {
  // Reading an undeclared parameter throws (params.scopedLookup), and a declared one the block
  // does not reach fails tf.grads in the recomputation: the lists must match the blocks. Here:
  // each list against the model's own parameters, block by block.
  const specs = [...initParams(TINY, 'coarse', 0).keys()];
  const layout = modelLayout(TINY);
  const under = (prefix: string) => specs.filter((n) => n.startsWith(prefix)).sort();
  TINY.imageDepths.forEach((depth, s) => {
    for (let j = 0; j < depth; j++) {
      const fused = layout.pairs.some((p) => p.stage === s && p.block === j);
      const declared = swinBlockParamNames(s, j, fused).map((n) => `vit_model.${n}`).sort();
      assert.deepEqual(declared, under(`vit_model.layers.${s}.blocks.${j}.`), `Swin block ${s}.${j}`);
    }
  });
  for (let l = 0; l < TINY.textLayers; l++) {
    const fused = layout.pairs.some((p) => p.textLayer === l);
    const declared = robertaLayerParamNames(l, fused).map((n) => `text_transformer.${n}`);
    // Present but never read, as in the reference (§1.3): alpha_t2i of unfused layers and the
    // cross-attention's output LayerNorm.
    const unread = under(`text_transformer.encoder.layer.${l}.`).filter((n) => !declared.includes(n));
    assert.deepEqual(unread.map((n) => n.replace(/^.*\.layer\.\d+\./, '')), fused
      ? ['crossattention_t2i.output.LayerNorm.bias', 'crossattention_t2i.output.LayerNorm.weight']
      : ['alpha_t2i'], `RoBERTa layer ${l}`);
    assert.ok(declared.every((n) => specs.includes(n)), `RoBERTa layer ${l} declares a name the model lacks`);
  }
});
