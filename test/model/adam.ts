import { clampRange } from '../../src/ps/param-clamp.js';

/** A minimal Adam over Float32Array weights, for the overfit tests (the real optimizer lives on the parameter server). */
export class TestAdam {
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();
  private t = 0;
  private readonly clamps: ReadonlyMap<string, readonly [number, number]>;
  /** `specs`: a tensor with a clamp is held in it after each step, as the parameter server does. */
  constructor(private readonly lr: number, specs: ReadonlyArray<{ name: string; clamp?: readonly [number, number] }> = []) {
    this.clamps = new Map(specs.flatMap((s) => (s.clamp ? [[s.name, s.clamp] as const] : [])));
  }
  step(weights: Map<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>): void {
    this.t += 1;
    const b1 = 0.9, b2 = 0.98, eps = 1e-8;
    const c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    for (const [name, g] of grads) {
      const w = weights.get(name)!;
      const m = this.m.get(name) ?? new Float32Array(g.length);
      const v = this.v.get(name) ?? new Float32Array(g.length);
      for (let i = 0; i < g.length; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        w[i] = w[i]! - (this.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
      const clamp = this.clamps.get(name);
      if (clamp) clampRange(w, clamp, 0, w.length);
      this.m.set(name, m);
      this.v.set(name, v);
    }
  }
}
