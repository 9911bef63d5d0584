import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { paramSpecs } from '../../src/model/param-spec.js';
import { adamwUpdate } from '../../src/ps/adamw.js';
import { lrFactor } from '../../src/ps/lr-schedule.js';
import { localNormExchange } from '../../src/ps/norm-exchange.js';
import { clampRange, clampToSpecs } from '../../src/ps/param-clamp.js';
import { lrMultiplier } from '../../src/ps/lr-multiplier.js';
import { numel, type ServerParamSpec as ParamSpec } from '../../src/model/param-spec.js';
import { APPLY_PIECE, ShardState } from '../../src/ps/shard-state.js';
import { planLayout, shardSize, shardSlices } from '../../src/stage/shard-layout.js';

const TEMP: [number, number] = [0.001, 1];
// A large LR: AdamW's first step moves every element by about lr, past the bounds below.
const opt = { ...resolveRunConfig({ preset: 'fiber-tiny', sets: ['optimizer.coarse.warmupFraction=0', 'optimizer.coarse.gradClipNorm=0.5'] }).optimizer.coarse, lr: 0.05 };

describe('clampRange / clampToSpecs', () => {
  it('holds values in [lo, hi] on their float32 bits, leaves the rest and NaN alone', () => {
    const a = Float32Array.of(5, 2, -1, 0.0005, 0.5, NaN);
    clampRange(a, TEMP, 1, 6);
    assert.deepEqual([...a], [5, 1, Math.fround(0.001), Math.fround(0.001), 0.5, NaN]);
  });

  it('clamps only the spec\'d tensor of a flat vector in spec order: the model\'s temp', () => {
    const specs = paramSpecs(resolveRunConfig({ preset: 'fiber-tiny' }).model, 'coarse');
    const withClamp = specs.filter((s) => s.clamp);
    assert.deepEqual(withClamp.map((s) => [s.name, s.clamp]), [['temp', TEMP]]);
    const total = specs.reduce((n, s) => n + numel(s.shape), 0);
    const flat = new Float32Array(total).fill(7);
    clampToSpecs(specs, flat);
    const at = specs.slice(0, specs.findIndex((s) => s.name === 'temp')).reduce((n, s) => n + numel(s.shape), 0);
    assert.equal(flat[at], 1);
    assert.equal(flat.filter((v) => v === 7).length, total - 1);
  });
});

describe('the shard clamps a clamped tensor after AdamW', () => {
  // temp sits between two tensors, so shard borders and pieces fall around it.
  const specs: ParamSpec[] = [
    { name: 'w', shape: [300, 400], group: 'backbone', noDecay: false },
    { name: 'temp', shape: [], group: 'backbone', noDecay: true, clamp: TEMP },
    { name: 'b', shape: [400], group: 'head', noDecay: true },
  ];
  const tempAt = (S: number) => planLayout(specs, S).tensorStarts[1]!;
  const runSteps = async (S: number, tempStart: number, tempGrad: number, steps = 3) => {
    const layout = planLayout(specs, S);
    const init = Float32Array.from({ length: layout.totalElements }, (_, i) => Math.sin(i * 0.01));
    init[tempAt(S)] = tempStart;
    const exchange = localNormExchange(S);
    const shards = Array.from({ length: S }, (_, s) => {
      const lo = layout.shardStarts[s]!, n = shardSize(layout, s);
      return new ShardState({
        run: 'r', stage: 'coarse', shard: s, flatStart: lo, tasksPerStep: 2, staleness: 0, version: 0,
        params: init.slice(lo, lo + n), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n),
        slices: shardSlices(layout, specs, s), specs, optimizer: opt,
      }, exchange(s));
    });
    for (let step = 0; step < steps; step++) {
      for (let t = 0; t < 2; t++) {
        const g = Float32Array.from({ length: layout.totalElements }, (_, i) => Math.cos(i * 0.003 + t + step));
        g[tempAt(S)] = tempGrad;
        shards.forEach((sh, s) => sh.push(step, t, 2, g.subarray(layout.shardStarts[s], layout.shardStarts[s + 1])));
      }
      await Promise.all(shards.map((sh) => sh.waitForVersion(step + 1, 5000)));
    }
    const out = new Float32Array(layout.totalElements);
    shards.forEach((sh, s) => out.set(sh.params, layout.shardStarts[s]));
    return { out, init, layout };
  };

  it('an update pushing temp past 1 leaves it at 1, one pushing it below 0.001 leaves it at 0.001', async () => {
    const up = await runSteps(1, 0.99, -1, 1);
    assert.equal(up.out[tempAt(1)], 1);
    const down = await runSteps(1, 0.01, 1, 1);
    assert.equal(down.out[tempAt(1)], Math.fround(0.001));
    // Without the clamp AdamW would have moved it by about lr: the bounds were really crossed.
    const p = Float32Array.of(0.99), m = new Float32Array(1), v = new Float32Array(1);
    adamwUpdate(p, m, v, Float32Array.of(-1), { lr: opt.lr * lrFactor(0, opt) * lrMultiplier(specs[1]!, opt), beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: 0, t: 1 });
    assert.ok(p[0]! > 1.02, `unclamped ${p[0]}`);
    // Every other element is AdamW's own.
    const w = up.init.slice(0, numel(specs[0]!.shape));
    assert.ok(up.out.subarray(0, w.length).some((x, i) => x !== w[i]), 'w was updated');
  });

  it('a clamped temp moves off the bound again when its gradient turns', async () => {
    const r = await runSteps(1, 0.99, -1, 1);
    assert.equal(r.out[tempAt(1)], 1);
    // Same start, gradient pushing up for a step then down: it leaves 1 (no frozen value).
    const layout = planLayout(specs, 1);
    const n = layout.totalElements;
    const params = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.01));
    params[tempAt(1)] = 0.99;
    const sh = new ShardState({
      run: 'r', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: 1, staleness: 0, version: 0,
      params, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n), slices: shardSlices(layout, specs, 0), specs, optimizer: opt,
    }, localNormExchange(1)(0));
    for (const [step, g] of [[0, -1], [1, 5], [2, 5]] as const) {
      const grad = new Float32Array(n);
      grad[tempAt(1)] = g;
      sh.push(step, 0, 1, grad);
      await sh.waitForVersion(step + 1, 5000);
      if (step === 0) assert.equal(sh.params[tempAt(1)], 1);
    }
    assert.ok(sh.params[tempAt(1)]! < 1, `temp left the bound: ${sh.params[tempAt(1)]}`);
  });

  it('gives the same bits for 1, 2 and 3 shards with a clamped tensor', async () => {
    const ref = await runSteps(1, 0.99, -1);
    assert.equal(ref.out[tempAt(1)], 1);
    for (const S of [2, 3]) {
      const r = await runSteps(S, 0.99, -1);
      assert.ok(Buffer.from(r.out.buffer).equals(Buffer.from(ref.out.buffer)), `${S} shards`);
    }
  });

  it('clamps within the piece that holds the tensor, before that piece can be pulled', async () => {
    // temp in the first of two pieces: pulls of the new version see it while the rest is applied.
    const big: ParamSpec[] = [
      { name: 'temp', shape: [], group: 'backbone', noDecay: true, clamp: TEMP },
      { name: 'w', shape: [APPLY_PIECE + 1000], group: 'backbone', noDecay: false },
    ];
    const layout = planLayout(big, 1);
    const n = layout.totalElements;
    const params = new Float32Array(n).fill(0.99);
    const sh = new ShardState({
      run: 'r', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: 1, staleness: 0, version: 0,
      params, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n), slices: shardSlices(layout, big, 0), specs: big, optimizer: { ...opt, gradClipNorm: 0 },
    }, localNormExchange(1)(0));
    sh.push(0, 0, 1, new Float32Array(n).fill(-1));
    assert.ok(await sh.waitForReadable(1, 1, 1000));
    assert.equal(sh.version, 0, 'the apply is still running');
    assert.equal(sh.readable(1)!.params[0], 1, 'the first piece already holds the clamped value');
    await sh.waitForVersion(1, 5000);
    assert.ok(sh.params[1]! > 1, 'the unclamped tensor went past 1');
  });
});
