import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adamwUpdate } from '../../src/ps/adamw.js';
import { fastestAdamW, simdAdamW } from '../../src/ps/adamw-simd.js';
import { ADAMW_SIMD_WASM } from '../../src/ps/adamw-simd-wasm.js';
import { REPO_ROOT } from '../helpers/cli.js';

const hex = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('AdamW on wasm SIMD', () => {
  const simd = simdAdamW();

  it('is available on this Node and is the kernel fiber picks', () => {
    assert.ok(simd, 'WebAssembly SIMD validates on Node 20');
    assert.notEqual(fastestAdamW(), adamwUpdate);
  });

  it('gives adamwUpdate\'s bits, step after step, over odd ranges that cross blocks', () => {
    const n = 40_003; // more than two 16,384-float blocks, odd
    const init = () => [Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.2), new Float32Array(n), new Float32Array(n)] as const;
    const a = init();
    const b = init();
    for (let t = 1; t <= 6; t++) {
      // Gradients from tiny to huge, exact zeros, both signs.
      const grad = Float32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : Math.cos(i * 0.7 * t) * 10 ** ((i % 9) - 6)));
      const h = { lr: 1e-3 * t, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: t % 2 ? 0.01 : 0, t };
      for (const [start, end] of [[0, 1], [1, 20_000], [20_000, n]] as const) {
        adamwUpdate(a[0], a[1], a[2], grad, h, 0.37, start, end);
        simd!(b[0], b[1], b[2], grad, h, 0.37, start, end);
      }
      assert.equal(hex(b[0]), hex(a[0]), `parameters after step ${t}`);
      assert.equal(hex(b[1]), hex(a[1]), `first moments after step ${t}`);
      assert.equal(hex(b[2]), hex(a[2]), `second moments after step ${t}`);
    }
  });

  it('leaves everything outside [start, end) alone', () => {
    const p = new Float32Array(10).fill(1);
    simd!(p, new Float32Array(10), new Float32Array(10), new Float32Array(10).fill(1), { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 }, 1, 3, 6);
    assert.deepEqual([...p].map((x) => x === 1), [true, true, true, false, false, false, true, true, true, true]);
  });

  it('ships the bytes that src/ps/adamw-simd.wat assembles to', async () => {
    const { default: wabtInit } = await import('wabt');
    const wabt = await wabtInit();
    const wat = readFileSync(join(REPO_ROOT, 'src/ps/adamw-simd.wat'), 'utf8');
    const { buffer } = wabt.parseWat('adamw-simd.wat', wat, { simd: true }).toBinary({});
    assert.equal(Buffer.from(buffer).toString('base64'), ADAMW_SIMD_WASM, 'run npm run wasm:adamw after editing the .wat');
  });
});
