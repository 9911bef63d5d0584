import { CHUNK } from '../stage/shard-layout.js';

/**
 * Sum of squares of `grad` per CHUNK-sized piece of the global flat vector, in float64.
 * `flatStart` (the shard's first flat index) is a multiple of CHUNK, so the pieces, and their sums,
 * are the same whatever the number of shards. [ceil(n / CHUNK)]
 */
export function chunkSquareSums(grad: Float32Array, flatStart: number): Float64Array {
  if (flatStart % CHUNK !== 0) throw new RangeError(`shard start ${flatStart} is not chunk-aligned`);
  const out = new Float64Array(Math.ceil(grad.length / CHUNK));
  for (let c = 0; c < out.length; c++) {
    let s = 0;
    const end = Math.min(grad.length, (c + 1) * CHUNK);
    for (let i = c * CHUNK; i < end; i++) s += grad[i]! * grad[i]!;
    out[c] = s;
  }
  return out;
}

/**
 * The last fold of a step fused with the norm: acc <- acc + grad (acc <- grad when `first`), and
 * the chunk square sums of the result, in one pass. The same numbers as chunkSquareSums(acc)
 * after a separate fold (same float32 sums, same float64 order), without reading acc again.
 */
export function foldWithSquareSums(acc: Float32Array, grad: Float32Array, first: boolean, flatStart: number): Float64Array {
  if (flatStart % CHUNK !== 0) throw new RangeError(`shard start ${flatStart} is not chunk-aligned`);
  const out = new Float64Array(Math.ceil(acc.length / CHUNK));
  for (let c = 0; c < out.length; c++) {
    let s = 0;
    const end = Math.min(acc.length, (c + 1) * CHUNK);
    for (let i = c * CHUNK; i < end; i++) {
      const x = first ? grad[i]! : Math.fround(acc[i]! + grad[i]!);
      acc[i] = x;
      s += x * x;
    }
    out[c] = s;
  }
  return out;
}

/** Global L2 norm from every shard's chunk sums, added in global chunk order. */
export function globalNorm(partialsByShard: readonly Float64Array[]): number {
  let total = 0;
  for (const partials of partialsByShard) for (const p of partials) total += p;
  return Math.sqrt(total);
}

/** torch.nn.utils.clip_grad_norm_: scale = maxNorm / (norm + 1e-6), capped at 1; maxNorm 0 = off. */
export function clipScale(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}
