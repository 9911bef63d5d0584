/**
 * Counts the multiply-add FLOPs of the matmuls issued by the forward pass (2*M*K*N each), for the
 * benchmark's achieved-GFLOP/s and MFU figures. A training step is counted as 3x its forward
 * (the backward of a matmul is two matmuls of the same size). Costs one addition per matmul.
 */
export const flopCounter = { forward: 0 };

export function countMatmulFlops(batch: number, m: number, k: number, n: number): void {
  flopCounter.forward += 2 * batch * m * k * n;
}
