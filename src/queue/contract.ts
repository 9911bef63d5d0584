import type { z } from 'zod';
import { FiberError } from '../errors/index.js';

/**
 * Every record that crosses a process (a job payload, a task result, a control record in Redis)
 * is parsed with its schema where it is read back, so a record from an older or broken writer
 * fails here, naming the record and the field, instead of deep inside whoever trusted a cast.
 */
export function parseRecord<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(record)'}: ${i.message}`);
  throw new FiberError('fiber.queue.bad_record', 'runtime', `${what} is malformed: ${issues.join('; ')}`);
}

/** {@link parseRecord} of a JSON string. */
export function parseJsonRecord<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FiberError('fiber.queue.bad_record', 'runtime', `${what} is not JSON: ${(err as Error).message}`);
  }
  return parseRecord(schema, value, what);
}
