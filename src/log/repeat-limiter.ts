import type { Logger } from 'pino';

type Level = 'info' | 'warn' | 'error';

/**
 * Logs a recurring condition once, then at most one summary per `intervalMs`: "(repeated N
 * times in the last X s)". A control loop that hits the same problem every 50 ms must not write
 * 5,000 lines in four minutes; the first line says what is wrong, the summaries that it still is.
 * Keys are the caller's (one per condition); `clear(key)` forgets one once it is resolved, so
 * its next occurrence is logged at once again.
 */
export class RepeatLimiter {
  private readonly seen = new Map<string, { last: number; suppressed: number }>();

  constructor(private readonly log: Logger, private readonly intervalMs = 60_000, private readonly now: () => number = Date.now) {}

  /** Log (or count) one occurrence; true when a line was written. */
  write(level: Level, key: string, fields: Record<string, unknown>, message: string): boolean {
    const t = this.now();
    const s = this.seen.get(key);
    if (!s) {
      this.seen.set(key, { last: t, suppressed: 0 });
      this.log[level](fields, message);
      return true;
    }
    if (t - s.last < this.intervalMs) {
      s.suppressed++;
      return false;
    }
    const repeated = s.suppressed + 1;
    this.log[level]({ ...fields, repeated, overSeconds: Math.round((t - s.last) / 1000) }, `${message} (repeated ${repeated} times in the last ${Math.round((t - s.last) / 1000)} s)`);
    this.seen.set(key, { last: t, suppressed: 0 });
    return true;
  }

  warn(key: string, fields: Record<string, unknown>, message: string): boolean { return this.write('warn', key, fields, message); }
  error(key: string, fields: Record<string, unknown>, message: string): boolean { return this.write('error', key, fields, message); }
  info(key: string, fields: Record<string, unknown>, message: string): boolean { return this.write('info', key, fields, message); }

  clear(key: string): void {
    this.seen.delete(key);
  }
}
