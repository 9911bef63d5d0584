import * as tf from '@tensorflow/tfjs';

/**
 * Transposed weights shared within one training step. `linear`'s forward needs `W^T` (the fast
 * wasm matmul is the 2-D non-transposed one), and a step uses most weights several times (the
 * fused blocks in the ITC, ITM and MLM passes, the text layers after the prefix in three, a
 * recomputed block twice). Transposing once per step instead of once per use saves the copies,
 * and, on wasm, XNNPACK's weight packing too: its operator cache is keyed by the right-hand
 * tensor, so every fresh `W^T` was packed again. The transpose is the same kernel on the same
 * values, and XNNPACK the same operator, so the results are the same bits.
 *
 * Only inside `withWeightTransposes` (lossAndGrads); elsewhere every call transposes afresh, as
 * before. Entries are keyed by the weight's data buffer, which clones share (the block-level
 * identity copies) and which a new value replaces (Variable.assign), so a stale entry is never hit.
 * A byte budget keeps fiber-base's step (3.7 GB) inside the 4 GiB wasm heap; past it weights are
 * transposed per use as before (same values either way). fiber-tiny's and fiber-small's
 * multiply-used weights fit it.
 */
const BUDGET_BYTES = 128 * 2 ** 20;

interface Scope {
  readonly byData: Map<object, tf.Tensor>;
  bytes: number;
}

let active: Scope | null = null;

/** `transpose(w)` for a 2-D weight, from the step's cache when one is open. */
export function transposedWeight(w: tf.Tensor2D): tf.Tensor2D {
  if (!active) return tf.transpose(w);
  const hit = active.byData.get(w.dataId);
  if (hit && !hit.isDisposed) return hit as tf.Tensor2D;
  const t = tf.transpose(w);
  if (active.bytes + 4 * w.size > BUDGET_BYTES) return t;
  active.bytes += 4 * w.size;
  active.byData.set(w.dataId, tf.keep(t));
  return t;
}

/** Runs `fn` (synchronous: the forward and backward passes) with a cache it disposes at the end. */
export function withWeightTransposes<T>(fn: () => T): T {
  const outer = active;
  const scope: Scope = { byData: new Map(), bytes: 0 };
  active = scope;
  try {
    return fn();
  } finally {
    active = outer;
    for (const t of scope.byData.values()) t.dispose();
  }
}
