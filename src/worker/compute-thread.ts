import { parentPort } from 'node:worker_threads';
import type { RunConfig, StageName } from '../config/index.js';
import { createObjectStore } from '../storage/object-store.js';
import { s3ConfigFromEnv } from '../storage/s3-config.js';
import { DEFAULT_RETRY } from '../storage/retry.js';
import { TaskDataLoader } from '../data/pipeline/task-data-loader.js';
import { checkTokenizerFitsModel, tokenizerIdentity } from '../data/pipeline/tokenizer-identity.js';
import { hashInts } from '../data/pipeline/rng.js';
import { isFiberError } from '../errors/index.js';
import type { FromCompute, ToCompute } from './compute-protocol.js';
import { toModelBatch } from '../stage/model-batch.js';
import { planStage } from '../stage/plan-stage.js';

/*
 * The compute thread: owns TensorFlow.js, the model's weights and the data loader. One task at a
 * time: set the weights of the task's version (when they changed), load the task's samples in
 * micro-batches, and sum (mean gradient x samples) over them in micro-batch order, so the result
 * is the same bits on any worker.
 */

type Model = import('../model/fiber-model.js').FiberModel;

interface StageSetup {
  readonly key: string;
  readonly config: RunConfig;
  readonly stage: StageName;
  readonly model: Model;
  readonly loader: TaskDataLoader;
  /** Flat start of each tensor (the stage plan's layout) and the flat length. */
  readonly offsets: readonly number[];
  readonly total: number;
  readonly microBatch: number;
}

const port = parentPort!;
let setup: StageSetup | null = null;
/**
 * A gradient buffer handed back by the main thread after its push. A fresh 40 MB (fiber-tiny)
 * buffer per task cost ~130 ms of page faults on first touch (docs/notes.md); zeroing a reused
 * one costs a few, and the sums are the same bits.
 */
let spareGrad: Float32Array | null = null;
let backend = { name: 'unknown', reason: '' };

port.on('message', (msg: ToCompute) => {
  void handle(msg).catch((err: unknown) => {
    const e = err as Error;
    const reply: FromCompute = { type: 'error', id: msg.type === 'task' ? msg.id : null, message: e.message ?? String(err), code: isFiberError(err) ? err.code : 'fiber.worker.compute', usage: isFiberError(err) && err.kind === 'usage' };
    port.postMessage(reply);
  });
});

async function handle(msg: ToCompute): Promise<void> {
  if (msg.type === 'recycle') {
    spareGrad = msg.grad;
    return;
  }
  if (msg.type === 'stage') {
    const tf = await import('../model/backend.js');
    backend = await tf.selectBackend(process.env);
    if (setup) {
      setup.model.dispose();
      await setup.loader.close();
    }
    setup = await prepare(msg.key, msg.config, msg.stage);
    port.postMessage({ type: 'ready', key: msg.key, backend: backend.name, reason: backend.reason } satisfies FromCompute);
    return;
  }
  if (!setup) throw new Error('task before stage setup');
  const result = await runTask(setup, msg);
  port.postMessage(result, result.type === 'result' ? [result.grad.buffer as ArrayBuffer, ...(result.spentParams ? [result.spentParams.buffer as ArrayBuffer] : [])] : []);
}

async function prepare(key: string, config: RunConfig, stage: StageName): Promise<StageSetup> {
  const { FiberModel } = await import('../model/fiber-model.js');
  const plan = planStage(config, stage);
  // Weights arrive with the first task; seeded ones fill the model until then.
  const model = FiberModel.init(config.model, stage, config.seed);
  const store = createObjectStore({ s3: s3ConfigFromEnv(process.env), retry: DEFAULT_RETRY });
  const loader = await TaskDataLoader.open(plan.data, plan.samplePlan, { store });
  // The coordinator checked this at stage start; a file changed since then must not reach the model.
  checkTokenizerFitsModel(tokenizerIdentity(loader.tokenizer, config.data.tokenizer), config.model.vocabSize);
  return { key, config, stage, model, loader, offsets: plan.layout.tensorStarts, total: plan.layout.totalElements, microBatch: plan.microBatch };
}

async function runTask(s: StageSetup, msg: Extract<ToCompute, { type: 'task' }>): Promise<FromCompute> {
  const t0 = performance.now();
  const { lossAndGrads } = await import('../model/loss-and-grads.js');
  if (msg.params) {
    const weights = new Map<string, Float32Array>();
    s.model.specs.forEach((spec, i) => weights.set(spec.name, msg.params!.subarray(s.offsets[i], s.offsets[i + 1] ?? s.total)));
    s.model.setParams(weights);
  }
  const grad = spareGrad?.length === s.total ? spareGrad.fill(0) : new Float32Array(s.total);
  spareGrad = null;
  const lossSums: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  let samples = 0;
  let micro = 0;
  // Time blocked on the loader (reads, decode), apart from the model's time: the goodput split.
  let dataMs = 0;
  let mark = performance.now();
  for await (const batch of s.loader.microBatches(msg.step, msg.task, s.microBatch)) {
    dataMs += performance.now() - mark;
    for (const [k, n] of Object.entries(batch.skipped)) skipped[k] = (skipped[k] ?? 0) + Number(n ?? 0);
    const index = micro++;
    if (batch.numSamples === 0) {
      mark = performance.now();
      continue;
    }
    const n = batch.numSamples;
    const out = await lossAndGrads(s.model, toModelBatch(batch), hashInts(s.config.seed, msg.step, msg.task, index));
    s.model.specs.forEach((spec, i) => {
      const g = out.grads.get(spec.name);
      if (!g) return;
      const off = s.offsets[i]!;
      for (let j = 0; j < g.length; j++) grad[off + j] = grad[off + j]! + g[j]! * n;
    });
    lossSums.total = (lossSums.total ?? 0) + out.loss * n;
    for (const [k, v] of Object.entries(out.lossesByObjective)) lossSums[k] = (lossSums[k] ?? 0) + v * n;
    samples += n;
    mark = performance.now();
  }
  dataMs += performance.now() - mark;
  // Fault injection for tests and drills: hold this thread like a long synchronous kernel would.
  const busyMs = Number(process.env.FIBER_FAULT_COMPUTE_BUSY_MS ?? 0);
  for (const until = performance.now() + busyMs; performance.now() < until;) { /* spin */ }
  // The cpu backend's tf.tensor keeps a reference to the array it is given, so there the model
  // still reads this buffer: it is handed back only where tensors copy (wasm's heap, libtensorflow).
  const spentParams = backend.name === 'cpu' ? null : msg.params;
  return { type: 'result', id: msg.id, grad, samples, lossSums, skipped, computeMs: performance.now() - t0, dataMs, spentParams };
}
