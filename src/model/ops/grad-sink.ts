import * as tf from '@tensorflow/tfjs';

/**
 * Parameter gradients of recomputed blocks, summed outside tfjs's tape. tfjs keeps every
 * gradient term it has added up until the whole backward pass ends, so a weight used in three
 * passes (the fused blocks: ITC, ITM and MLM) held four weight-sized tensors; fiber-base's coarse
 * step did not fit the 4 GiB wasm heap for that alone. Here each term is added to the running sum
 * and freed at once, and a sum whose last term has arrived leaves the backend's memory for a
 * plain array. Terms arrive in the order the tape would add them (backward order), so the sums
 * are the same bits as the tape's.
 */
export class GradSink {
  private readonly sums = new Map<tf.Tensor, tf.Tensor>();
  private readonly pending = new Map<tf.Tensor, number>();
  private readonly done = new Map<tf.Tensor, Float32Array>();

  /** A forward pass used `param` once: one more gradient term will come. */
  expect(param: tf.Tensor): void {
    this.pending.set(param, (this.pending.get(param) ?? 0) + 1);
  }

  /** Adds `grad` (consumed) to the sum for `param`. */
  add(param: tf.Tensor, grad: tf.Tensor): void {
    const prev = this.sums.get(param);
    const sum = prev ? tf.add(prev, grad) : grad;
    if (prev) {
      prev.dispose();
      grad.dispose();
    }
    const left = (this.pending.get(param) ?? 1) - 1;
    this.pending.set(param, left);
    if (left > 0) {
      this.sums.set(param, tf.keep(sum));
      return;
    }
    this.sums.delete(param);
    this.done.set(param, sum.dataSync() as Float32Array);
    sum.dispose();
  }

  /** The summed gradient of `param`, or undefined when no recomputed block reached it. */
  async read(param: tf.Tensor): Promise<Float32Array | undefined> {
    const done = this.done.get(param);
    if (done) return done;
    const sum = this.sums.get(param);
    return sum ? ((await sum.data()) as Float32Array) : undefined;
  }

  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.pending.clear();
    this.done.clear();
  }
}
