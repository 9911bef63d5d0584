import type { OptimizerConfig } from '../config/index.js';
import { fastestAdamW } from './adamw-simd.js';
import { clipScale, foldWithSquareSums, globalNorm } from './grad-norm.js';
import { lrFactor } from './lr-schedule.js';
import { clampRange } from './param-clamp.js';
import { lrMultiplier } from './lr-multiplier.js';
import { type ServerParamSpec } from '../model/param-spec.js';
import type { TensorSlice } from '../stage/shard-layout.js';
import type { PushStatus } from './wire.js';
import { ConditionWaiters } from './condition-waiters.js';

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
  readonly specs: readonly ServerParamSpec[];
  readonly optimizer: OptimizerConfig;
  /** How long an apply waits for pull bodies being written (READER_WAIT_MS unless set). */
  readonly readerWaitMs?: number;
}

/**
 * Floats per piece of an apply. Between pieces the shard's event loop runs, so pulls of the new
 * version stream out the pieces already updated while AdamW computes the rest. 1M floats (4 MB)
 * is 3-5 ms of AdamW here: small enough to overlap, large enough that the yields cost nothing.
 */
export const APPLY_PIECE = 1 << 20;

/**
 * How long an apply waits for pull bodies still being written from the arrays it is about to
 * change before it closes their connections. A reading peer drains a shard's slice in well under
 * a second; one that stopped reading gets its task retried.
 */
export const READER_WAIT_MS = 5000;

/** The first `ready` floats of a version, readable now (ready < size while it is being applied). */
export interface Readable {
  readonly params: Float32Array;
  readonly ready: number;
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
  /**
   * Running sum of the step's contributions. The first contribution's own buffer becomes it when
   * the state owns that buffer (pushBuffer), so the sum starts without a copy.
   */
  private acc: Float32Array | null = null;
  /** Chunk square sums of the step's complete sum, made by its last fold. */
  private partials: Float64Array | null = null;
  private nextTask = 0;
  private samples = 0;
  private readonly early = new Map<number, { grad: Float32Array; samples: number }>();
  /**
   * Buffers of the shard's size nobody reads any more (folded contributions, an applied step's
   * sum), for pushBuffer() and early copies: a fresh multi-MB array costs more than the copy
   * into it (the kernel maps and zeroes every page). At most T + 1 are kept.
   */
  private readonly spare: Float32Array[] = [];
  /** Pull bodies being written from the live array or a kept copy; apply waits for them. */
  private readonly readers = new Set<{ abort: () => void }>();
  private readersDrained: (() => void) | null = null;
  private readonly seen = new Set<number>();
  private applying: Promise<void> | null = null;
  /** While AdamW runs: the version being made and how many floats of it the live array holds. */
  private making: { version: number; ready: number } | null = null;
  private readonly waiters = new ConditionWaiters();
  /** Contributions to steps after the current one (staleness > 0), by step then task. */
  private readonly future = new Map<number, Map<number, { grad: Float32Array; samples: number }>>();
  /** The parameters of versions versionNow - s .. versionNow - 1, buffers reused oldest first. */
  private history: Array<{ version: number; params: Float32Array }> = [];

  /** A failed apply is tried again after this long (the norm exchange already waited out its own retries). */
  static readonly APPLY_RETRY_MS = 1000;
  private retryTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(private readonly s: ShardStageState, private readonly exchangeNorms: NormExchange,
    private readonly onApplied: (a: AppliedStep) => void = () => {},
    private readonly onApplyError: (err: Error, step: number) => void = () => {}) {
    this.versionNow = s.version;
  }

  /**
   * This state is superseded (a new epoch was loaded): a failed apply is not tried again, and
   * every wait on it ends now, unfulfilled, instead of at its timeout (a pull that waited on the
   * old epoch's version would otherwise hold its worker for up to 10 minutes). Idempotent.
   */
  dispose(): void {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.waiters.cancelAll();
  }

  /** True once {@link dispose} has run. */
  get superseded(): boolean { return this.disposed; }

  get version(): number { return this.versionNow; }
  get run(): string { return this.s.run; }
  get stage(): string { return this.s.stage; }
  get params(): Float32Array { return this.s.params; }
  get expAvg(): Float32Array { return this.s.expAvg; }
  get expAvgSq(): Float32Array { return this.s.expAvgSq; }
  get size(): number { return this.s.params.length; }

  /**
   * A buffer of the shard's size to receive a push body into and hand over with
   * push(..., owned = true): the state then keeps it (as the step's sum, or as an early
   * arrival) instead of copying it, and recycles it once folded.
   */
  pushBuffer(): Float32Array {
    return this.spare.pop() ?? new Float32Array(this.size);
  }

  /**
   * Accept task `task`'s summed gradient for step `step`. Pushes for an applied step are stale,
   * repeats are duplicates; a push for a step more than `staleness` ahead is a caller bug (the
   * coordinator never queues one) and throws. Unless `owned` (a pushBuffer() buffer handed over,
   * which the caller must not touch again), `grad` is not kept after the call returns (an early
   * arrival is copied), so the caller may reuse its buffer.
   */
  push(step: number, task: number, samples: number, grad: Float32Array, owned = false): PushStatus {
    const status = this.accept(step, task, samples, grad, owned);
    if (owned && status !== 'accepted') this.recycle(grad);
    return status;
  }

  private accept(step: number, task: number, samples: number, grad: Float32Array, owned: boolean): PushStatus {
    if (step < this.versionNow) return 'stale';
    if (step > this.versionNow + this.s.staleness) throw new RangeError(`push for step ${step} while at version ${this.versionNow} (staleness ${this.s.staleness})`);
    if (!Number.isInteger(task) || task < 0 || task >= this.s.tasksPerStep) throw new RangeError(`task ${task} outside 0..${this.s.tasksPerStep - 1}`);
    if (grad.length !== this.size) throw new RangeError(`gradient of ${grad.length} floats, shard holds ${this.size}`);
    const keep = () => (owned ? grad : this.copyOf(grad));
    if (step > this.versionNow) {
      let pending = this.future.get(step);
      if (!pending) this.future.set(step, (pending = new Map()));
      if (pending.has(task)) return 'duplicate';
      pending.set(task, { grad: keep(), samples });
      return 'accepted';
    }
    if (this.seen.has(task)) return 'duplicate';
    this.seen.add(task);
    if (task === this.nextTask) this.fold(grad, samples, owned);
    else this.early.set(task, { grad: keep(), samples });
    this.drainInOrder();
    this.maybeApply();
    return 'accepted';
  }

  private recycle(buffer: Float32Array): void {
    if (buffer !== this.acc && this.spare.length <= this.s.tasksPerStep) this.spare.push(buffer);
  }

  /**
   * Register a pull body being written from an array readable() returned. The next apply (which
   * overwrites the live array and reuses the oldest kept copy) waits until every reader is
   * released; after READER_WAIT_MS it calls the stragglers' abort (close their connection)
   * instead, so a peer that stops reading cannot stall the run. Returns the release function.
   */
  addReader(abort: () => void): () => void {
    const reader = { abort };
    this.readers.add(reader);
    return () => {
      if (this.readers.delete(reader) && this.readers.size === 0) this.readersDrained?.();
    };
  }

  private async drainReaders(): Promise<void> {
    if (this.readers.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.readersDrained = resolve;
      timer = setTimeout(resolve, this.s.readerWaitMs ?? READER_WAIT_MS);
    });
    clearTimeout(timer);
    this.readersDrained = null;
    for (const r of [...this.readers]) r.abort();
    this.readers.clear();
  }

  /**
   * The parameters at `version` if this shard can still serve them whole: the live array for the
   * current version, a kept copy for one of the last `staleness` versions, else undefined. While
   * the next version is being applied the live array is half old, half new, so the current
   * version is then only served from a kept copy. The array is only valid until the next apply
   * (copy it before awaiting).
   */
  paramsAt(version: number): Float32Array | undefined {
    const r = this.readable(version);
    return r && r.ready === this.size ? r.params : undefined;
  }

  /**
   * What of `version` can be read now: whole (a kept copy, or the live array when it is current
   * and no apply runs), or, while that version is being applied, the live array's first `ready`
   * floats (they hold the new values and keep them until the apply after this one). Undefined
   * when the version is gone or not started.
   */
  readable(version: number): Readable | undefined {
    const kept = this.history.find((h) => h.version === version);
    if (kept) return { params: kept.params, ready: this.size };
    if (this.making) return version === this.making.version ? { params: this.s.params, ready: this.making.ready } : undefined;
    return version === this.versionNow ? { params: this.s.params, ready: this.size } : undefined;
  }

  /** Resolves once the shard is at `version` (true), or false on timeout. */
  waitForVersion(version: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(() => this.versionNow >= version, timeoutMs);
  }

  /**
   * Resolves true once at least `floats` floats of `version` are readable or the version can no
   * longer become so (the shard moved past it: check readable() again), false on timeout.
   */
  waitForReadable(version: number, floats: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(() => {
      const r = this.readable(version);
      return r ? r.ready >= floats : this.versionNow > version;
    }, timeoutMs);
  }

  /** Settles when an update in progress has been applied (for shutdown and checkpoints). */
  async idle(): Promise<void> {
    while (this.applying) await this.applying;
  }

  private maybeApply(): void {
    if (this.nextTask !== this.s.tasksPerStep || this.applying || this.retryTimer || this.disposed) return;
    const step = this.versionNow;
    this.applying = this.apply(step).then(() => {
      this.applying = null;
      this.maybeApply(); // the next step may have been complete in the buffer already
    }, (err: unknown) => {
      // Only the norm exchange can fail, before anything changed: the same apply is tried again
      // later. Never at once: an apply that fails without waiting would starve the event loop
      // (a Redis restart mid-exchange once did, and shard 0's coordinator lost its lease).
      this.applying = null;
      this.onApplyError(err instanceof Error ? err : new Error(String(err)), step);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.maybeApply();
      }, ShardState.APPLY_RETRY_MS);
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
      this.fold(next.grad, next.samples, true);
    }
  }

  /**
   * A copy of an early contribution, in a buffer kept from an earlier one when there is one: a
   * fresh multi-MB array costs more than the copy (the kernel maps and zeroes every page).
   */
  private copyOf(grad: Float32Array): Float32Array {
    const copy = this.spare.pop() ?? new Float32Array(this.size);
    copy.set(grad);
    return copy;
  }

  /**
   * Add task `nextTask`'s contribution to the running sum. The first one becomes the sum: the
   * buffer itself when the state owns it, else a copy. The last one also yields the chunk norms
   * that clipping needs, in the same pass. An owned buffer is recycled once folded.
   */
  private fold(grad: Float32Array, samples: number, owned: boolean): void {
    const first = this.acc === null;
    if (first) this.acc = owned ? grad : this.pushBuffer();
    const acc = this.acc!;
    if (this.nextTask === this.s.tasksPerStep - 1 && this.s.optimizer.gradClipNorm > 0) {
      // acc === grad (an adopted first contribution) reads and writes the same values: the same sums.
      this.partials = foldWithSquareSums(acc, grad, first, this.s.flatStart);
    } else if (first) {
      if (acc !== grad) acc.set(grad);
    } else {
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + grad[i]!;
    }
    if (owned) this.recycle(grad);
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
      // Every step's sum ends with its last fold, which made the partials (clipping is on). They
      // are dropped only once exchanged, so a failed exchange can be tried again.
      norm = globalNorm(await this.exchangeNorms(step, this.partials!)) * mean;
      this.partials = null;
      scale = mean * clipScale(norm, opt.gradClipNorm);
    }
    const factor = lrFactor(step, opt);
    // From here the live array is the next version in the making: pulls of the current one are
    // served from kept copies only. Pull bodies still being written from the arrays about to
    // change (the live one, the oldest kept copy) finish first: they are sent without a copy.
    this.making = { version: step + 1, ready: 0 };
    await this.drainReaders();
    this.remember(step);
    // Tensors whose group multiplier is 0 are frozen: no update, no decay.
    const updates = this.s.slices.flatMap((slice) => {
      const spec = this.s.specs[slice.index]!;
      const mult = lrMultiplier(spec, opt);
      return mult === 0 ? [] : [{ slice, clamp: spec.clamp, hyper: {
        lr: opt.lr * factor * mult, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps,
        weightDecay: spec.noDecay ? 0 : opt.weightDecay, t: step + 1,
      } }];
    });
    // In pieces, each element exactly as one pass would do it (AdamW is elementwise), so the
    // bits do not depend on the piece size. The last piece and the version change happen in
    // one turn: nothing can see the version complete but not current.
    const adamw = fastestAdamW();
    for (let a = 0; a < this.size; a += APPLY_PIECE) {
      const b = Math.min(this.size, a + APPLY_PIECE);
      for (const { slice, clamp, hyper } of updates) {
        const lo = Math.max(a, slice.shardOffset);
        const hi = Math.min(b, slice.shardOffset + slice.length);
        if (lo >= hi) continue;
        adamw(this.s.params, this.s.expAvg, this.s.expAvgSq, grad, hyper, scale, lo, hi);
        // In the same piece, before pulls can read it: no forward ever sees an unclamped value.
        // Outside the kernel, so the SIMD and JS paths stay bit-identical.
        if (clamp) clampRange(this.s.params, clamp, lo, hi);
      }
      if (b === this.size) break;
      this.making = { version: step + 1, ready: b };
      this.waiters.wake();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.making = null;
    const sum = this.acc!;
    this.acc = null;
    this.recycle(sum);
    this.nextTask = 0;
    this.samples = 0;
    this.seen.clear();
    this.versionNow = step + 1;
    this.promoteFuture();
    this.onApplied({ step, samples: n, gradNorm: norm, lr: opt.lr * factor });
    this.waiters.wake();
  }
}
