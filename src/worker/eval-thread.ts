import { parentPort, workerData } from 'node:worker_threads';
import { createObjectStore } from '../storage/object-store.js';
import { DEFAULT_RETRY } from '../storage/retry.js';
import { s3ConfigFromEnv } from '../storage/s3-config.js';
import { evaluateCheckpoint } from '../eval/evaluate-checkpoint.js';
import type { EvalJobPayload } from '../queue/eval-job.js';

/*
 * One evaluation off the worker's main thread (TensorFlow.js computes synchronously; the main
 * thread must keep renewing BullMQ locks and heartbeats). Posts { ok: true, result } or
 * { ok: false, message } and ends.
 */
const p = workerData as EvalJobPayload;
const store = createObjectStore({ s3: s3ConfigFromEnv(process.env), retry: DEFAULT_RETRY });
try {
  const result = await evaluateCheckpoint(store, { checkpoint: p.checkpoint, data: p.data, task: p.task, limit: p.limit });
  parentPort!.postMessage({ ok: true, result });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: (err as Error).message });
} finally {
  await store.close();
}
