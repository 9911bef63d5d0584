import * as tf from '@tensorflow/tfjs';
import { FiberError } from '../errors/index.js';
import { batchShapeProblems, isFineBatch, type ModelBatch } from './batch.js';
import { coarseLosses } from './coarse-loss.js';
import type { FiberModel } from './fiber-model.js';
import { fineLosses } from './fine-loss.js';
import { GradSink } from './ops/grad-sink.js';
import { withLeanBackprop } from './ops/lean-backprop.js';
import { withWeightTransposes } from './ops/weight-transposes.js';

export interface LossAndGrads {
  /** Total loss of the micro-batch (coarse: itc + itm + mlm; fine: token + reg + centerness). */
  readonly loss: number;
  /** Each objective's value: coarse {itc, itm, mlm}, fine {token, reg, centerness}. */
  readonly lossesByObjective: Readonly<Record<string, number>>;
  /**
   * d loss / d param for every trainable parameter (ParamSpec.trainable), PyTorch layout,
   * mean over the micro-batch. A trainable parameter this batch did not reach (the MLM head when
   * nothing is masked) gets zeros. Non-trainable parameters are absent.
   */
  readonly grads: Map<string, Float32Array>;
}

/**
 * Loss and gradients of one micro-batch, as a pure function of (weights, batch, rngSeed):
 * dropout masks and ITM negatives come from `rngSeed` only, so the same inputs on the same
 * backend give bit-identical gradients. Leaves no tensor behind.
 */
export async function lossAndGrads(model: FiberModel, batch: ModelBatch, rngSeed: number): Promise<LossAndGrads> {
  if (isFineBatch(batch) !== (model.stage === 'fine')) {
    throw new FiberError('fiber.model.batch', 'usage', `a ${isFineBatch(batch) ? 'fine' : 'coarse'} batch was given to a ${model.stage} model`);
  }
  if (!isFineBatch(batch) && batch.imageSize !== model.config.imageSize) {
    throw new FiberError('fiber.model.batch', 'usage', `batch imageSize ${batch.imageSize} differs from the model's ${model.config.imageSize}`);
  }
  const problems = batchShapeProblems(batch, model.config.maxPositions);
  if (problems.length) throw new FiberError('fiber.model.batch', 'usage', `malformed batch: ${problems.join('; ')}`, { problems });
  const trainable = model.specs.filter((s) => s.trainable);
  const vars = trainable.map((s) => model.variable(s.name));
  const parts: Record<string, tf.Scalar> = {};
  const sink = new GradSink();
  const f = () => {
    const losses = isFineBatch(batch)
      ? fineLosses(model.config, model.params, batch, rngSeed, true, sink)
      : coarseLosses(model.config, model.params, batch, rngSeed, true, sink);
    for (const [k, v] of Object.entries(losses)) if (k !== 'total') parts[k] = tf.keep(v as tf.Scalar);
    return losses.total;
  };
  // variableGrads allows parameters with no path to the loss (their grads are simply absent).
  const { value, grads } = withLeanBackprop(() => withWeightTransposes(() => tf.variableGrads(f, vars)));
  try {
    const out = new Map<string, Float32Array>();
    // A parameter gets its gradient from the tape or, inside recomputed blocks, from the sink.
    const datas = await Promise.all(vars.map(async (v) => {
      const g = grads[v.name];
      return g ? ((await g.data()) as Float32Array) : ((await sink.read(v)) ?? new Float32Array(v.size));
    }));
    trainable.forEach((s, i) => out.set(s.name, datas[i]!));
    const lossesByObjective: Record<string, number> = {};
    for (const [k, v] of Object.entries(parts)) lossesByObjective[k] = (await v.data())[0]!;
    return { loss: (await value.data())[0]!, lossesByObjective, grads: out };
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
    tf.dispose(Object.values(parts));
    sink.dispose();
  }
}
