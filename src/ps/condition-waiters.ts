/**
 * Promises that settle when a condition holds: checked at once, then again at every `wake()`.
 * A shard's pulls wait on these for a version (or the first floats of one) to exist; the shard
 * wakes them as AdamW makes each piece, and cancels them all when its epoch is superseded.
 */
export class ConditionWaiters {
  private readonly waiting = new Set<{ ready: () => boolean; settle: (ok: boolean) => void }>();
  private cancelled = false;

  /** True once `ready()` holds; false at the timeout, or at once after {@link cancelAll}. */
  wait(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (this.cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        ready,
        settle: (ok: boolean) => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      this.waiting.add(waiter);
    });
  }

  /** Settle (true) every wait whose condition now holds. */
  wake(): void {
    for (const w of [...this.waiting]) if (w.ready()) w.settle(true);
  }

  /** Settle every wait, now and to come, with false. Idempotent. */
  cancelAll(): void {
    this.cancelled = true;
    for (const w of [...this.waiting]) w.settle(false);
  }
}
