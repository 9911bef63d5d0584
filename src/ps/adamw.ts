/**
 * AdamW as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), applied in place to
 * one contiguous range of parameters. Pure arithmetic on typed arrays: the same inputs give the
 * same bits on every machine (IEEE float64 maths, stored as float32 after each element).
 *
 * Per element i with gradient g (already averaged over the global batch and clipped):
 *   p <- p * (1 - lr * wd)                   (decoupled decay; wd = 0 for biases, norms, gates)
 *   m <- b1 m + (1 - b1) g
 *   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)      t = step + 1
 *
 * This loop is the reference and the fallback: shards run the same arithmetic on wasm SIMD
 * (adamw-simd.ts), which a test holds to these bits.
 */
export interface AdamWHyper {
  /** Effective LR for this range: base LR x schedule factor x group multiplier. */
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Decoupled weight decay for this range (0 where the group has none). */
  readonly weightDecay: number;
  /** 1-based update count (step + 1), for bias correction. */
  readonly t: number;
}

/** The per-call constants of one AdamW update, shared by both kernels so they round alike. */
export function adamwConstants(h: AdamWHyper): { decay: number; stepSize: number; sqrtBc2: number } {
  const bc1 = 1 - h.beta1 ** h.t;
  const bc2 = 1 - h.beta2 ** h.t;
  return { decay: 1 - h.lr * h.weightDecay, stepSize: h.lr / bc1, sqrtBc2: Math.sqrt(bc2) };
}

export function adamwUpdate(
  params: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, grad: Float32Array,
  h: AdamWHyper, gradScale = 1, start = 0, end = params.length,
): void {
  const { beta1, beta2, eps } = h;
  const { decay, stepSize, sqrtBc2 } = adamwConstants(h);
  for (let i = start; i < end; i++) {
    const g = grad[i]! * gradScale;
    // Moments are rounded to float32, as torch stores them, before they are used (Math.fround
    // gives the stored value's bits without reading the array back).
    const m = Math.fround(beta1 * expAvg[i]! + (1 - beta1) * g);
    const v = Math.fround(beta2 * expAvgSq[i]! + (1 - beta2) * g * g);
    expAvg[i] = m;
    expAvgSq[i] = v;
    params[i] = params[i]! * decay - (stepSize * m) / (Math.sqrt(v) / sqrtBc2 + eps);
  }
}
