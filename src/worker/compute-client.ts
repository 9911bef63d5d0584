import { Worker } from 'node:worker_threads';
import type { RunConfig, StageName } from '../config/index.js';
import { FiberError } from '../errors/index.js';
import type { FromCompute, ToCompute } from './compute-protocol.js';

export type ComputeResult = Extract<FromCompute, { type: 'result' }>;

/**
 * The main thread's handle on the compute thread: one request at a time, promises in, results
 * out. A crash of the thread fails the request (the task is retried by BullMQ) and the next
 * request starts a fresh thread.
 */
export class ComputeClient {
  private thread: Worker | null = null;
  private stageKey: string | null = null;
  private nextId = 1;
  private pending = new Map<number | 'stage', { resolve: (m: FromCompute) => void; reject: (e: Error) => void }>();
  backend = 'unknown';
  backendReason = '';
  /** The last task's parameter buffer, back from the thread: the next pull writes into it. */
  private spareParams: Float32Array | null = null;

  /** Make sure the thread is set up for (run, stage, config); cheap when it already is. */
  async ensureStage(key: string, config: RunConfig, stage: StageName): Promise<void> {
    if (this.stageKey === key && this.thread) return;
    const t = this.ensureThread();
    const reply = await new Promise<FromCompute>((resolve, reject) => {
      this.pending.set('stage', { resolve, reject });
      t.postMessage({ type: 'stage', key, config, stage });
    });
    if (reply.type === 'error') throw new FiberError(reply.code, reply.usage ? 'usage' : 'runtime', `compute thread: ${reply.message}`);
    if (reply.type === 'ready') {
      this.backend = reply.backend;
      this.backendReason = reply.reason;
    }
    this.stageKey = key;
  }

  /** Gradient of (step, task); `params` (flat, transferred) only when the version changed. */
  async run(step: number, task: number, version: number, params: Float32Array | null): Promise<ComputeResult> {
    const t = this.ensureThread();
    const id = this.nextId++;
    const reply = await new Promise<FromCompute>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      t.postMessage({ type: 'task', id, step, task, version, params }, params ? [params.buffer as ArrayBuffer] : []);
    });
    if (reply.type === 'error') throw new FiberError(reply.code, reply.usage ? 'usage' : 'runtime', `compute thread: ${reply.message}`);
    const result = reply as ComputeResult;
    if (result.spentParams) this.spareParams = result.spentParams;
    return result;
  }

  /**
   * A buffer of `length` floats for the next pull: the one the last pull filled when its size
   * fits (a pull overwrites every element), else a new one. Reusing it saves the page faults of
   * a fresh 40 MB (fiber-tiny) buffer per pull.
   */
  paramBuffer(length: number): Float32Array {
    const spare = this.spareParams;
    this.spareParams = null;
    return spare?.length === length ? spare : new Float32Array(length);
  }

  /** Hands a pushed gradient (transferred: unusable here afterwards) back for the next task to sum into. */
  recycle(grad: Float32Array): void {
    if (this.thread) this.thread.postMessage({ type: 'recycle', grad } satisfies ToCompute, [grad.buffer as ArrayBuffer]);
  }

  async close(): Promise<void> {
    const t = this.thread;
    this.thread = null;
    this.stageKey = null;
    if (t) await t.terminate();
  }

  private ensureThread(): Worker {
    if (this.thread) return this.thread;
    const t = new Worker(new URL('./compute-thread.js', import.meta.url), { env: process.env });
    t.on('message', (m: FromCompute) => {
      const key: number | 'stage' = m.type === 'ready' || m.id === null ? 'stage' : m.id;
      const p = this.pending.get(key);
      if (!p) return;
      this.pending.delete(key);
      p.resolve(m);
    });
    const fail = (err: Error) => {
      if (this.thread === t) {
        this.thread = null;
        this.stageKey = null;
      }
      for (const [k, p] of this.pending) {
        this.pending.delete(k);
        p.reject(new FiberError('fiber.worker.compute_crashed', 'runtime', `compute thread stopped: ${err.message}`));
      }
    };
    t.on('error', fail);
    t.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.thread = t;
    return t;
  }
}
