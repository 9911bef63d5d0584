import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { RepeatLimiter } from '../log/repeat-limiter.js';
import { psKeys } from '../queue/keys.js';
import { readShards } from '../queue/ps-control.js';

export interface ShardSlotOptions {
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Pause between looks. @defaultValue 2 s */
  readonly pollMs?: number;
  /** How long the holder's address gets to accept a connection. @defaultValue 1 s */
  readonly probeTimeoutMs?: number;
  /** How often "still standing by" is repeated in the logs. @defaultValue 5 min */
  readonly logEveryMs?: number;
  /** Called on every look: the liveness heartbeat of a standby. */
  readonly onAttempt?: () => void;
}

/**
 * Shards 1..S-1 hold no lease, so a second process started with the same --shard would replace
 * the first one's record at every heartbeat, and the coordinator, which reads a new record as a
 * restarted shard, would restart the stage every few seconds. Before it listens, a shard looks at
 * its index's record: a fresh one (its TTL still runs) whose address accepts a connection belongs
 * to a live shard, and the newcomer stands by until that one is gone. A dead process's record (a
 * killed pod, a crashed shard) refuses the connection: the newcomer takes over at once, so a
 * restart is not slowed. Resolves true when the slot is free, false when `signal` aborts the wait.
 */
export async function waitForShardSlot(redis: Redis, shard: number, o: ShardSlotOptions): Promise<boolean> {
  const limiter = new RepeatLimiter(o.log, o.logEveryMs ?? 300_000);
  while (!o.signal?.aborted) {
    o.onAttempt?.();
    const holder = (await readShards(redis, shard + 1))[shard];
    if (!holder || !(await accepts(holder.host, holder.port, o.probeTimeoutMs ?? 1000))) return true;
    limiter.warn('standby', { shard, holder: `${holder.host}:${holder.port}`, pid: holder.pid, since: holder.startedAt, key: psKeys.shard(shard) },
      `shard ${shard} is served by another live process (${holder.host}:${holder.port}, pid ${holder.pid}, since ${holder.startedAt}): standing by until it stops`);
    await new Promise<void>((resolve) => {
      const wake = () => { clearTimeout(t); o.signal?.removeEventListener('abort', wake); resolve(); };
      const t = setTimeout(wake, o.pollMs ?? 2000);
      o.signal?.addEventListener('abort', wake, { once: true });
    });
  }
  return false;
}

/** Whether host:port accepts a TCP connection within timeoutMs (closed again at once). */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => { clearTimeout(timer); socket.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
