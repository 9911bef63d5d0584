import { z } from 'zod';
import type { Redis } from 'ioredis';
import { redactText } from '../log/redact.js';
import { errorsKey } from './keys.js';


/** How many problems a run keeps. */
export const RUN_ERRORS_KEPT = 20;

const runErrorSchema = z.object({
  /** ISO time. */
  at: z.string(),
  stage: z.string(),
  /** Who saw it: `coordinator` or `worker <id>`. */
  source: z.string(),
  message: z.string(),
}).readonly();
export type RunErrorEntry = z.output<typeof runErrorSchema>;

/**
 * Record a problem of a run (a failed task attempt, a stage restart, a failed stage). Messages
 * are redacted before they reach Redis; recording never throws (it is only a report).
 */
export async function recordRunError(redis: Redis, run: string, e: Omit<RunErrorEntry, 'at'>, now = new Date()): Promise<void> {
  const entry: RunErrorEntry = { at: now.toISOString(), stage: e.stage, source: e.source, message: redactText(e.message).slice(0, 500) };
  await redis.multi().lpush(errorsKey(run), JSON.stringify(entry)).ltrim(errorsKey(run), 0, RUN_ERRORS_KEPT - 1).exec().catch(() => undefined);
}

/** The newest `n` problems of a run; malformed entries are left out. */
export async function readRunErrors(redis: Redis, run: string, n: number): Promise<RunErrorEntry[]> {
  const raw = await redis.lrange(errorsKey(run), 0, n - 1);
  return raw.flatMap((l) => {
    try {
      const e = runErrorSchema.safeParse(JSON.parse(l));
      return e.success ? [e.data] : [];
    } catch {
      return [];
    }
  });
}
