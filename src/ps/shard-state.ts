import type { OptimizerConfig } from '../config/index.js';
import { adamwUpdate } from './adamw.js';
import { chunkSquareSums, clipScale, globalNorm } from './grad-norm.js';
import { lrFactor } from './lr-schedule.js';
import { lrMultiplier, type ParamSpec } from './param-spec.js';
import type { TensorSlice } from './shard-layout.js';
import type { PushStatus } from './wire.js';

/** Exchanges this shard's chunk norms for step v and returns every shard's, in shard order. */
export type NormExchange = (step: number, partials: Float64Array) => Promise<Float64Array[]>;

export interface ShardStageState {
  readonly run: string;
  readonly stage: string;
  readonly shard: number;
  /** First flat index of this shard (chunk-aligned). */
  readonly flatStart: number;
  readonly tasksPerStep: number;
  /**
   * Bounded staleness s: pushes for steps up to version + s are buffered, and the parameters of the
   * last s versions stay readable for pulls. 0 (synchronous) keeps neither.
   */
  readonly staleness: number;
  /** Version the parameters are at (= optimizer steps applied). */
  readonly version: number;
  readonly params: Float32Array;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  readonly slices: readonly TensorSlice[];
  readonly specs: readonly ParamSpec[];
  readonly optimizer: OptimizerConfig;
}

export interface AppliedStep {
  readonly step: number;
  readonly samples: number;
  readonly gradNorm: number;
  readonly lr: number;
}

/**
 * One shard's slice of parameters and AdamW state for the active stage, and the aggregation of
 * the T gradient contributions of each step. Contributions are summed strictly in task order
 * (early arrivals wait in a buffer), so the sum's bits do not depend on which worker finished
 * first; a (step, task) seen before is a duplicate and ignored. With staleness s, contributions
 * to the next s steps wait (copied) until their step is current, and steps are still applied
 * strictly in order.
 */
export class ShardState {
  private versionNow: number;
  /** Running sum of the step's contributions, reused step after step (allocated once). */
  private accBuffer: Float32Array | null = null;
  private acc: Float32Array | null = null;
  private nextTask = 0;
  private samples = 0;
  private readonly early = new Map<number, { grad: Float32Array; samples: number }>();
  private readonly seen = new Set<number>();
  private applying: Promise<void> | null = null;
  private readonly waiters = new Set<{ version: number; resolve: () => void }>();
  /** Contributions to steps after the current one (staleness > 0), by step then task. */
  private readonly future = new Map<number, Map<number, { grad: Float32Array; samples: number }>>();
  /** The parameters of versions versionNow - s .. versionNow - 1, buffers reused oldest first. */
  private history: Array<{ version: number; params: Float32Array }> = [];

  constructor(private readonly s: ShardStageState, private readonly exchangeNorms: NormExchange,
    private readonly onApplied: (a: AppliedStep) => void = () => {}) {
    this.versionNow = s.version;
  }

  get version(): number { return this.versionNow; }
  get run(): string { return this.s.run; }
  get stage(): string { return this.s.stage; }
  get params(): Float32Array { return this.s.params; }
  get expAvg(): Float32Array { return this.s.expAvg; }
  get expAvgSq(): Float32Array { return this.s.expAvgSq; }
  get size(): number { return this.s.params.length; }

  /**
   * Accept task `task`'s summed gradient for step `step`. Pushes for an applied step are stale,
   * repeats are duplicates; a push for a step more than `staleness` ahead is a caller bug (the
   * coordinator never queues one) and throws. `grad` is not kept after the call returns (an early
   * arrival is copied), so the caller may reuse its buffer.
   */
  push(step: number, task: number, samples: number, grad: Float32Array): PushStatus {
    if (step < this.versionNow) return 'stale';
    if (step > this.versionNow + this.s.staleness) throw new RangeError(`push for step ${step} while at version ${this.versionNow} (staleness ${this.s.staleness})`);
    if (!Number.isInteger(task) || task < 0 || task >= this.s.tasksPerStep) throw new RangeError(`task ${task} outside 0..${this.s.tasksPerStep - 1}`);
    if (grad.length !== this.size) throw new RangeError(`gradient of ${grad.length} floats, shard holds ${this.size}`);
    if (step > this.versionNow) {
      let pending = this.future.get(step);
      if (!pending) this.future.set(step, (pending = new Map()));
      if (pending.has(task)) return 'duplicate';
      pending.set(task, { grad: grad.slice(), samples });
      return 'accepted';
    }
    if (this.seen.has(task)) return 'duplicate';
    this.seen.add(task);
    if (task === this.nextTask) this.fold(grad, samples);
    else this.early.set(task, { grad: grad.slice(), samples });
    this.drainInOrder();
    this.maybeApply();
    return 'accepted';
  }

  /**
   * The parameters at `version` if this shard can still serve them: the live array for the
   * current version, a kept copy for one of the last `staleness` versions, else undefined.
   * The array is only valid until the next apply (copy it before awaiting).
   */
  paramsAt(version: number): Float32Array | undefined {
    if (version === this.versionNow) return this.s.params;
    return this.history.find((h) => h.version === version)?.params;
  }

  /** Resolves once the shard is at `version` (true), or false on timeout. */
  waitForVersion(version: number, timeoutMs: number): Promise<boolean> {
    if (this.versionNow >= version) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { version, resolve: () => { clearTimeout(timer); this.waiters.delete(waiter); resolve(true); } };
      const timer = setTimeout(() => { this.waiters.delete(waiter); resolve(false); }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Settles when an update in progress has been applied (for shutdown and checkpoints). */
  async idle(): Promise<void> {
    while (this.applying) await this.applying;
  }

  private maybeApply(): void {
    if (this.nextTask !== this.s.tasksPerStep || this.applying) return;
    this.applying = this.apply(this.versionNow).finally(() => {
      this.applying = null;
      this.maybeApply(); // the next step may have been complete in the buffer already
    });
  }

  /** After an apply: the buffered contributions to the new current step enter the ordered fold. */
  private promoteFuture(): void {
    const pending = this.future.get(this.versionNow);
    if (!pending) return;
    this.future.delete(this.versionNow);
    for (const [task, c] of pending) {
      this.seen.add(task);
      this.early.set(task, c);
    }
    this.drainInOrder();
  }

  /** Keep a copy of the parameters of version `step` before they change (staleness > 0). */
  private remember(step: number): void {
    const s = this.s.staleness;
    if (s === 0) return;
    const reuse = this.history.length >= s ? this.history.shift()! : undefined;
    const params = reuse?.params ?? new Float32Array(this.size);
    params.set(this.s.params);
    this.history.push({ version: step, params });
  }

  private drainInOrder(): void {
    for (let next = this.early.get(this.nextTask); next; next = this.early.get(this.nextTask)) {
      this.early.delete(this.nextTask);
      this.fold(next.grad, next.samples);
    }
  }

  /** Add task `nextTask`'s contribution to the running sum (the first one is copied in). */
  private fold(grad: Float32Array, samples: number): void {
    if (this.acc === null) {
      this.accBuffer ??= new Float32Array(this.size);
      this.accBuffer.set(grad);
      this.acc = this.accBuffer;
    } else {
      const acc = this.acc;
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + grad[i]!;
    }
    this.samples += samples;
    this.nextTask++;
  }

  private async apply(step: number): Promise<void> {
    const grad = this.acc!;
    const n = this.samples;
    // The update uses the mean over the global batch's samples: sum x (1/n), folded into AdamW's
    // gradient scale rather than a separate pass. A step whose samples were all bad has a zero
    // gradient. The norm for clipping is of the mean: the sum's norm / n.
    const mean = n > 0 ? 1 / n : 0;
    const opt = this.s.optimizer;
    let norm = 0;
    let scale = mean;
    if (opt.gradClipNorm > 0) {
      norm = globalNorm(await this.exchangeNorms(step, chunkSquareSums(grad, this.s.flatStart))) * mean;
      scale = mean * clipScale(norm, opt.gradClipNorm);
    }
    const factor = lrFactor(step, opt);
    this.remember(step);
    for (const slice of this.s.slices) {
      const spec = this.s.specs[slice.index]!;
      const mult = lrMultiplier(spec, opt);
      if (mult === 0) continue;
      adamwUpdate(this.s.params, this.s.expAvg, this.s.expAvgSq, grad, {
        lr: opt.lr * factor * mult, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps,
        weightDecay: spec.noDecay ? 0 : opt.weightDecay, t: step + 1,
      }, scale, slice.shardOffset, slice.shardOffset + slice.length);
    }
    this.acc = null;
    this.nextTask = 0;
    this.samples = 0;
    this.seen.clear();
    this.versionNow = step + 1;
    this.promoteFuture();
    this.onApplied({ step, samples: n, gradNorm: norm, lr: opt.lr * factor });
    for (const w of [...this.waiters]) if (w.version <= this.versionNow) w.resolve();
  }
}
