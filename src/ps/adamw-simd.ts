import { adamwConstants, adamwUpdate, type AdamWHyper } from './adamw.js';
import { ADAMW_SIMD_WASM } from './adamw-simd-wasm.js';

/** One AdamW update of params[start, end) in place: adamwUpdate's signature and bits. */
export type AdamWKernel = typeof adamwUpdate;

/**
 * Floats of each array per call into wasm: four blocks of 64 KB stay in L2 while the kernel
 * runs, so copying them in and out costs little next to the arithmetic it speeds up.
 */
const BLOCK = 16_384;

/** The part of the WebAssembly JS API used here (the project's lib has no DOM types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: object };
}

interface SimdExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly adamw: (p: number, m: number, v: number, g: number, n: number, scale: number, beta1: number, beta2: number,
    c1: number, c2: number, decay: number, stepSize: number, sqrtBc2: number, eps: number) => void;
}

let kernel: AdamWKernel | undefined;

/**
 * The fastest AdamW this runtime has: the wasm SIMD kernel (3.3 against 5.2 ns per parameter in
 * bench/ps) where WebAssembly SIMD is available, else adamwUpdate itself. Both give the same
 * bits; one instance per thread (the kernel's memory is only used inside a call).
 */
export function fastestAdamW(): AdamWKernel {
  kernel ??= simdAdamW() ?? adamwUpdate;
  return kernel;
}

/** The wasm SIMD kernel, or undefined where WebAssembly SIMD is missing. */
export function simdAdamW(): AdamWKernel | undefined {
  const bytes = Buffer.from(ADAMW_SIMD_WASM, 'base64');
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm?.validate(bytes)) return undefined;
  const { memory, adamw } = new wasm.Instance(new wasm.Module(bytes)).exports as SimdExports;
  const mem = new Float32Array(memory.buffer, 0, 4 * BLOCK);
  // Where each array's block sits in the kernel's memory, in floats.
  const P = 0;
  const M = BLOCK;
  const V = 2 * BLOCK;
  const G = 3 * BLOCK;
  return (params: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, grad: Float32Array, h: AdamWHyper, gradScale = 1, start = 0, end = params.length) => {
    const { decay, stepSize, sqrtBc2 } = adamwConstants(h);
    for (let a = start; a < end; a += BLOCK) {
      const b = Math.min(end, a + BLOCK);
      const n = b - a;
      mem.set(params.subarray(a, b), P);
      mem.set(expAvg.subarray(a, b), M);
      mem.set(expAvgSq.subarray(a, b), V);
      mem.set(grad.subarray(a, b), G);
      adamw(P * 4, M * 4, V * 4, G * 4, n, gradScale, h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2, decay, stepSize, sqrtBc2, h.eps);
      params.set(mem.subarray(P, P + n), a);
      expAvg.set(mem.subarray(M, M + n), a);
      expAvgSq.set(mem.subarray(V, V + n), a);
    }
  };
}
