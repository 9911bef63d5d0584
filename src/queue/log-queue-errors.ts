import type { RepeatLimiter } from '../log/repeat-limiter.js';

interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Route a BullMQ Queue's or Worker's 'error' events (a lost or refused Redis connection, mostly)
 * to the log, at most one line per message per the limiter's interval. A Queue nobody listens to
 * prints each one with console.error, a raw stack per reconnect attempt: 2,000 lines for one
 * Redis restart every few seconds. ioredis reconnects by itself; these only say that it has to.
 */
export function logQueueErrors(emitter: ErrorEmitter, limiter: RepeatLimiter, what: string): void {
  emitter.on('error', (err: Error) => {
    limiter.warn(`${what}: ${err.message}`, { err: err.message }, `${what}: Redis connection error (reconnecting)`);
  });
}
