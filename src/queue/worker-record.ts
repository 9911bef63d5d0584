import { z } from 'zod';

/** The heartbeat record every `fiber worker` writes under WORKERS_KEY (keys.ts) every 2 s; `fiber status` reads it. */
const workerRecordSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int().optional(),
  backend: z.string(),
  state: z.enum(['starting', 'idle', 'busy', 'draining', 'stopped']),
  task: z.string().nullable().default(null),
  tasksDone: z.number().int().nonnegative().default(0),
  lastHeartbeat: z.string(),
}).readonly();
export type WorkerRecord = z.output<typeof workerRecordSchema>;

/** A heartbeat as status shows it; a record that does not parse (another version's, a broken writer) is left out. */
export function parseWorkerRecord(text: string): WorkerRecord | null {
  try {
    const r = workerRecordSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
