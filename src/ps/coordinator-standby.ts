import type { Logger } from '../log/logger.js';
import { RepeatLimiter } from '../log/repeat-limiter.js';
import { UsageError } from '../errors/index.js';
import { describeHolder, type CoordinatorLease, type LeaseHolder } from './coordinator-lease.js';

export interface StandbyOptions {
  /** This process's --shards. */
  readonly shards: number;
  /**
   * How long a candidate whose --shards differs from the holder's keeps trying before it exits 2:
   * long enough for a rolling update that changes the shard count to replace the old pod.
   * @defaultValue 120 s
   */
  readonly mismatchGraceMs?: number;
  /** Pause between attempts. @defaultValue a third of the lease TTL */
  readonly retryMs?: number;
  /** How often "still standing by" is repeated in the logs. @defaultValue 5 min */
  readonly logEveryMs?: number;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Called on every attempt: the liveness heartbeat of a standby. */
  readonly onAttempt?: () => void;
}

/**
 * Take the coordinator lease, standing by while another shard 0 holds it:
 *  - a holder with the same --shards is a rolling update (or a restarted pod whose old lease has
 *    not expired yet): stand by quietly, one line, then one every few minutes, until it goes;
 *  - a holder with another --shards is a mistyped flag or a half-done resize: stand by for a grace
 *    window (the old pod may be on its way out), then exit 2 naming the holder.
 * Resolves true once the lease is ours, false when `signal` aborts the wait.
 */
export async function takeCoordinatorLease(lease: CoordinatorLease, o: StandbyOptions): Promise<boolean> {
  const limiter = new RepeatLimiter(o.log, o.logEveryMs ?? 300_000);
  const graceMs = o.mismatchGraceMs ?? 120_000;
  const retryMs = o.retryMs ?? Math.min(2000, Math.max(100, Math.floor(lease.ttlMs / 3)));
  let mismatchSince: number | null = null;
  while (!o.signal?.aborted) {
    o.onAttempt?.();
    const r = await lease.tryAcquire();
    if (r.acquired) {
      o.log.info({ token: r.holder.token }, 'coordinator lease taken: coordinating stages');
      return true;
    }
    const h = r.holder;
    if (h.shards === o.shards) {
      mismatchSince = null;
      limiter.info('standby', holderFields(h), `standing by: another shard 0 coordinates (${describeHolder(h)}); this one takes over when its lease ends`);
    } else {
      mismatchSince ??= Date.now();
      const waited = Date.now() - mismatchSince;
      if (waited >= graceMs) {
        throw new UsageError(`another shard 0 coordinates this Redis with --shards ${h.shards}: ${describeHolder(h)}; this one has --shards ${o.shards}. `
          + 'Fix --shards / FIBER_PS_SHARDS, or stop the other one', 'fiber.ps.shards_mismatch', { holder: holderFields(h), shards: o.shards });
      }
      limiter.warn('mismatch', { ...holderFields(h), shards: o.shards, exitInSeconds: Math.round((graceMs - waited) / 1000) },
        `standing by: another shard 0 coordinates with --shards ${h.shards} (${describeHolder(h)}), this one has --shards ${o.shards}; exiting 2 unless it goes within the grace window`);
    }
    await sleep(retryMs, o.signal);
  }
  return false;
}

function holderFields(h: LeaseHolder): Record<string, unknown> {
  return { holderHost: h.host, holderPid: h.pid, holderShards: h.shards, holderSince: h.since, holderToken: h.token };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
