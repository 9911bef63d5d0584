import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adamwUpdate } from '../../src/ps/adamw.js';

describe('adamwUpdate', () => {
  it('follows torch.optim.AdamW for two steps (hand-computed)', () => {
    const p = new Float32Array([1, -2]);
    const m = new Float32Array(2);
    const v = new Float32Array(2);
    const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    adamwUpdate(p, m, v, new Float32Array([0.5, -0.25]), { ...h, t: 1 });
    // t=1: bias-corrected m/sqrt(v) = sign(g) -> p*(1-0.001) - 0.1*sign(g)
    assert.ok(Math.abs(p[0]! - (1 * 0.999 - 0.1)) < 1e-6);
    assert.ok(Math.abs(p[1]! - (-2 * 0.999 + 0.1)) < 1e-6);
    const p0 = p[0]!;
    adamwUpdate(p, m, v, new Float32Array([0.5, -0.25]), { ...h, t: 2 });
    const m2 = 0.9 * 0.05 + 0.1 * 0.5;
    const v2 = 0.999 * 0.00025 + 0.001 * 0.25;
    const expected = p0 * 0.999 - (0.1 / (1 - 0.81)) * m2 / (Math.sqrt(v2) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    assert.ok(Math.abs(p[0]! - expected) < 1e-6, `${p[0]} vs ${expected}`);
  });

  it('applies the gradient scale (mean and clipping) and only inside [start, end)', () => {
    const p = new Float32Array([1, 1, 1]);
    const q = new Float32Array([1, 1, 1]);
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 };
    adamwUpdate(p, new Float32Array(3), new Float32Array(3), new Float32Array([4, 4, 4]), h, 0.25, 1, 2);
    adamwUpdate(q, new Float32Array(3), new Float32Array(3), new Float32Array([1, 1, 1]), h, 1, 1, 2);
    assert.deepEqual([...p], [...q]);
    assert.equal(p[0], 1);
    assert.equal(p[2], 1);
  });

  it('is deterministic to the bit', () => {
    const run = () => {
      const p = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
      const m = new Float32Array(1000);
      const v = new Float32Array(1000);
      for (let t = 1; t <= 5; t++) adamwUpdate(p, m, v, Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i * t)), { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, t });
      return Buffer.from(p.buffer).toString('hex');
    };
    assert.equal(run(), run());
  });
});
