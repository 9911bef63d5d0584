import type { Redis } from 'ioredis';
import type { NormExchange } from './shard-state.js';

/**
 * Global-norm clipping needs every shard's chunk partials before any shard applies. They are a
 * few KB of float64 per step (one per 65,536 parameters), so they go through Redis, never the
 * gradients themselves. Each shard writes its partials, then waits for all S and reads them in
 * shard order. A Redis error (a restart, a lost connection) is waited out until the deadline, and
 * partials that Redis lost (restarted without them) are written again.
 */
export function redisNormExchange(redis: Redis, keyPrefix: string, shard: number, numShards: number, opts: { pollMs?: number; timeoutMs?: number } = {}): NormExchange {
  const pollMs = opts.pollMs ?? 5;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return async (step, partials) => {
    const key = `${keyPrefix}:norm:${step}`;
    const bytes = Buffer.from(partials.buffer, partials.byteOffset, partials.byteLength);
    const deadline = Date.now() + timeoutMs;
    let written = false;
    let seen = 0;
    let lastError: Error | null = null;
    for (;;) {
      try {
        if (!written) {
          await redis.multi().hset(key, String(shard), bytes).expire(key, 3600).exec();
          written = true;
        }
        const all = await redis.hgetallBuffer(key);
        seen = Object.keys(all).length;
        lastError = null;
        if (all[String(shard)] === undefined) written = false;
        else if (seen >= numShards) {
          return Array.from({ length: numShards }, (_, s) => {
            const b = all[String(s)]!;
            // Copy out of the reply buffer: its offset need not be 8-byte aligned.
            return new Float64Array(new Uint8Array(b).buffer);
          });
        }
      } catch (err) {
        lastError = err as Error;
      }
      if (Date.now() > deadline) {
        throw new Error(`gradient-norm exchange for step ${step}: only ${seen} of ${numShards} shards reported within ${timeoutMs} ms${lastError ? ` (last Redis error: ${lastError.message})` : ''}`);
      }
      await new Promise((r) => setTimeout(r, lastError ? Math.max(pollMs, 100) : pollMs));
    }
  };
}

/** In-process exchange among S shard states (one process holding every shard: tests, demo). */
export function localNormExchange(numShards: number): (shard: number) => NormExchange {
  const steps = new Map<number, { parts: Array<Float64Array | undefined>; waiters: Array<() => void> }>();
  return (shard) => async (step, partials) => {
    let entry = steps.get(step);
    if (!entry) steps.set(step, (entry = { parts: new Array(numShards), waiters: [] }));
    entry.parts[shard] = partials;
    if (entry.parts.filter(Boolean).length === numShards) entry.waiters.splice(0).forEach((w) => w());
    else await new Promise<void>((r) => entry!.waiters.push(r));
    return entry.parts as Float64Array[];
  };
}
