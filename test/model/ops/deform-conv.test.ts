import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/model/backend.js';
import { deformOutputSize, modulatedDeformConv2d } from '../../../src/model/ops/deform-conv.js';
import { SeededRng } from '../../../src/model/seeded-rng.js';

before(async () => {
  await selectBackend();
});

/*
 * A plain DCNv2 written from the CUDA kernel's definition (dmcn_im2col_bilinear), in float64 JS
 * loops, channels-last: the reference for the forward and for finite-difference gradients.
 */
interface Inputs { x: Float64Array; off: Float64Array; mask: Float64Array; w: Float64Array; bias: Float64Array }
interface Dims { b: number; h: number; wd: number; cin: number; cout: number; stride: number; ho: number; wo: number }

function bilinear(x: Float64Array, d: Dims, b: number, c: number, py: number, px: number): number {
  if (py <= -1 || px <= -1 || py >= d.h || px >= d.wd) return 0;
  const y0 = Math.floor(py), x0 = Math.floor(px);
  const ly = py - y0, lx = px - x0;
  const at = (y: number, xx: number) => (y >= 0 && y < d.h && xx >= 0 && xx < d.wd ? x[((b * d.h + y) * d.wd + xx) * d.cin + c]! : 0);
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) + ly * lx * at(y0 + 1, x0 + 1);
}

function reference(v: Inputs, d: Dims): Float64Array {
  const out = new Float64Array(d.b * d.ho * d.wo * d.cout);
  for (let b = 0; b < d.b; b++) for (let y = 0; y < d.ho; y++) for (let x = 0; x < d.wo; x++) {
    const cell = (b * d.ho + y) * d.wo + x;
    for (let o = 0; o < d.cout; o++) {
      let acc = v.bias[o]!;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const k = 3 * i + j;
        const py = y * d.stride - 1 + i + v.off[cell * 18 + 2 * k]!;
        const px = x * d.stride - 1 + j + v.off[cell * 18 + 2 * k + 1]!;
        const m = v.mask[cell * 9 + k]!;
        for (let c = 0; c < d.cin; c++) acc += v.w[((o * d.cin + c) * 3 + i) * 3 + j]! * m * bilinear(v.x, d, b, c, py, px);
      }
      out[cell * d.cout + o] = acc;
    }
  }
  return out;
}

function makeInputs(d: Dims, seed: number): Inputs {
  const rng = new SeededRng(seed);
  const normal = (n: number, s: number) => Float64Array.from({ length: n }, () => rng.normal() * s);
  // Offsets = integer + a fraction in [0.15, 0.85]: no sample sits on a kink of the bilinear
  // weights, so central differences see a smooth function; some land outside the map.
  const off = Float64Array.from({ length: d.b * d.ho * d.wo * 18 }, () => Math.round(rng.normal() * 1.5) + 0.15 + 0.7 * rng.next());
  return { x: normal(d.b * d.h * d.wd * d.cin, 1), off, mask: Float64Array.from({ length: d.b * d.ho * d.wo * 9 }, () => 0.1 + 0.8 * rng.next()), w: normal(d.cout * d.cin * 9, 0.5), bias: normal(d.cout, 0.5) };
}

function dims(stride: number): Dims {
  const b = 2, h = 5, wd = 4, cin = 3, cout = 2;
  return { b, h, wd, cin, cout, stride, ho: deformOutputSize(h, stride), wo: deformOutputSize(wd, stride) };
}

function ours(v: Inputs, d: Dims): tf.Tensor[] {
  return [
    tf.tensor4d(Float32Array.from(v.x), [d.b, d.h, d.wd, d.cin]), tf.tensor4d(Float32Array.from(v.off), [d.b, d.ho, d.wo, 18]),
    tf.tensor4d(Float32Array.from(v.mask), [d.b, d.ho, d.wo, 9]), tf.tensor4d(Float32Array.from(v.w), [d.cout, d.cin, 3, 3]), tf.tensor1d(Float32Array.from(v.bias)),
  ];
}

describe('modulatedDeformConv2d', () => {
  for (const stride of [1, 2] as const) {
    it(`equals a hand-written bilinear DCNv2 to 1e-5 (stride ${stride})`, () => {
      const d = dims(stride);
      const v = makeInputs(d, 3 + stride);
      const [x, off, mask, w, bias] = ours(v, d);
      const got = modulatedDeformConv2d(x!, off!, mask!, w!, bias, stride).dataSync();
      const want = reference(v, d);
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)), `[${i}] ${got[i]} vs ${want[i]}`);
    });

    it(`gradients w.r.t. input, offsets, mask, weight and bias match float64 finite differences (stride ${stride})`, () => {
      const d = dims(stride);
      const v = makeInputs(d, 11 + stride);
      const rng = new SeededRng(99);
      const probe = Float64Array.from({ length: d.b * d.ho * d.wo * d.cout }, () => rng.normal()); // loss = sum(out * probe)
      const loss = (vv: Inputs) => reference(vv, d).reduce((a, o, i) => a + o * probe[i]!, 0);
      const probeT = tf.tensor4d(Float32Array.from(probe), [d.b, d.ho, d.wo, d.cout]);
      const grads = tf.grads((x: tf.Tensor, off: tf.Tensor, mask: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
        tf.sum(tf.mul(modulatedDeformConv2d(x, off, mask, w, bias, stride), probeT)))(ours(v, d)).map((g) => g.dataSync());
      const eps = 1e-4;
      (['x', 'off', 'mask', 'w', 'bias'] as const).forEach((key, gi) => {
        const arr = v[key];
        for (let i = 0; i < arr.length; i++) {
          const keep = arr[i]!;
          arr[i] = keep + eps;
          const up = loss(v);
          arr[i] = keep - eps;
          const down = loss(v);
          arr[i] = keep;
          const fd = (up - down) / (2 * eps);
          const g = grads[gi]![i]!;
          // float32 forward and backward against float64 differences.
          assert.ok(Math.abs(g - fd) <= 2e-4 + 1e-3 * Math.abs(fd), `d/d${key}[${i}]: ${g} vs ${fd}`);
        }
      });
    });
  }

  it('as a recomputed node (large columns) gives the same value and gradients to the bit', () => {
    for (const stride of [1, 2] as const) {
      const d = dims(stride);
      const inputs = ours(makeInputs(d, 21 + stride), d);
      const dy = tf.randomNormal([d.b, d.ho, d.wo, d.cout], 0, 1, 'float32', 5);
      const run = (recomputeAbove: number) =>
        tf.grads((x: tf.Tensor, off: tf.Tensor, mask: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => modulatedDeformConv2d(x, off, mask, w, bias, stride, recomputeAbove))(inputs, dy);
      const kept = run(Infinity), replayed = run(0);
      kept.forEach((g, i) => assert.deepEqual(replayed[i]!.dataSync(), g.dataSync(), `stride ${stride}, gradient ${i}`));
      const value = (above: number) => tf.tidy(() => modulatedDeformConv2d(inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!, inputs[4], stride, above).dataSync());
      assert.deepEqual(value(0), value(Infinity));
      tf.dispose([...inputs, dy, ...kept, ...replayed]);
    }
  });

  it('reads zeros outside the map: an offset of -10 everywhere gives the bias', () => {
    const d = dims(1);
    const v = makeInputs(d, 5);
    v.off.fill(-10);
    const [x, off, mask, w, bias] = ours(v, d);
    const got = modulatedDeformConv2d(x!, off!, mask!, w!, bias).dataSync();
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - v.bias[i % d.cout]!) < 1e-6);
  });
});
