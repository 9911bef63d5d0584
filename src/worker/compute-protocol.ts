import type { RunConfig, StageName } from '../config/index.js';

/**
 * Messages between a worker's main thread (BullMQ, TCP to the shards, heartbeats) and its compute
 * thread (TensorFlow.js and the data path). TensorFlow.js on the CPU backends computes
 * synchronously for seconds at a time; off the main thread, the job lock keeps being renewed.
 * Float32Arrays are transferred, not copied.
 */
export type ToCompute =
  | { readonly type: 'stage'; readonly key: string; readonly config: RunConfig; readonly stage: StageName }
  | { readonly type: 'task'; readonly id: number; readonly step: number; readonly task: number; readonly version: number; readonly params: Float32Array | null }
  /** A result's gradient buffer, pushed and no longer needed: the next task sums into it. */
  | { readonly type: 'recycle'; readonly grad: Float32Array };

export type FromCompute =
  | { readonly type: 'ready'; readonly key: string; readonly backend: string; readonly reason: string }
  | {
    readonly type: 'result'; readonly id: number;
    /** Sum over micro-batches of (mean gradient x samples), flat in spec order; zeros for untrained tensors. */
    readonly grad: Float32Array;
    readonly samples: number;
    readonly lossSums: Record<string, number>;
    readonly skipped: Record<string, number>;
    readonly computeMs: number;
    /** Of computeMs, the time spent waiting for the data loader's next micro-batch. */
    readonly dataMs: number;
    /** The task's `params` buffer, copied into the model and handed back for the next pull (null on the cpu backend, whose tensors keep it). */
    readonly spentParams: Float32Array | null;
  }
  | { readonly type: 'error'; readonly id: number | null; readonly message: string; readonly code: string; readonly usage: boolean };
