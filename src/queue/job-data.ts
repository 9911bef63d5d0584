import { UnrecoverableError } from 'bullmq';

/**
 * A job's payload through its parser. A payload this version cannot read fails the job for good
 * (BullMQ's UnrecoverableError): retrying it elsewhere would read it the same way.
 */
export function parseJobData<T>(parse: (data: unknown) => T, data: unknown): T {
  try {
    return parse(data);
  } catch (err) {
    throw new UnrecoverableError((err as Error).message);
  }
}
