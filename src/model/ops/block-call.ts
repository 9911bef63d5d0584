import * as tf from '@tensorflow/tfjs';
import { flopCounter } from './flop-counter.js';
import type { DropoutContext } from './nn.js';

/**
 * Activation recomputation (`model.recompute`): 'none' keeps every activation a block's backward
 * needs from the forward pass; 'blocks' keeps only each block's inputs and runs the block's
 * forward again inside the backward pass (activation checkpointing, as the reference's fine
 * stage does with torch.utils.checkpoint).
 */
export type RecomputeMode = 'none' | 'blocks';
export const RECOMPUTE_MODES = ['none', 'blocks'] as const satisfies readonly RecomputeMode[];

/** A block's body: activations and parameters in, one tensor out; randomness only from `drop`. */
export type BlockBody = (activations: tf.Tensor[], params: tf.Tensor[], constants: tf.Tensor[], drop: DropoutContext) => tf.Tensor;

export interface BlockInputs {
  /** Differentiable inputs that are not parameters (hidden states). */
  readonly activations: readonly tf.Tensor[];
  /** Every parameter the body reads, in a fixed order; each must reach the output. */
  readonly params: readonly tf.Tensor[];
  /** Inputs with no gradient (masks); kept alive for the recomputation. */
  readonly constants: readonly tf.Tensor[];
}

/** The tfjs engine field a nested gradient computation overwrites (see `recomputedGrads`). */
interface EngineTapeState {
  state: { activeTape: unknown };
}

/**
 * Runs one block so that the two modes give the same gradients to the bit:
 *   - 'none': the body runs on identity copies of its inputs, so the gradient of each input is
 *     summed inside the block first and reaches the rest of the graph as one term, exactly as
 *     the recomputed block's single gradient does. Its intermediates stay on the tape.
 *   - 'blocks': one custom-gradient node that saves only its inputs. Its gradient replays the
 *     body (same ops, same dropout seeds) under a fresh tape and backpropagates `dy` through it.
 * Either way the body runs in a tidy, so activations the tape does not save are freed at the
 * block's end (inference of fiber-base held every block's intermediates until the very end).
 */
export function blockCall(mode: RecomputeMode, drop: DropoutContext, inputs: BlockInputs, body: BlockBody): tf.Tensor {
  const acts = [...inputs.activations];
  const params = [...inputs.params];
  const consts = [...inputs.constants];
  if (mode === 'none') {
    return tf.tidy(() => body(acts.map((t) => tf.clone(t)), params.map((t) => tf.clone(t)), consts, drop));
  }
  const replay = drop.fork();
  const sink = drop.gradSink;
  // With a sink, parameters are not inputs of the node: their gradients go to the sink, the
  // tape sees only activations (and the parameters, being variables, outlive the step anyway).
  const nodeParams = sink ? [] : params;
  if (sink) for (const p of params) sink.expect(p);
  const nAct = acts.length, nDiff = acts.length + nodeParams.length;
  const node = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const all = args as tf.Tensor[];
    save(all);
    const value = tf.tidy(() => body(all.slice(0, nAct), sink ? params : all.slice(nAct, nDiff), all.slice(nDiff), drop));
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const xs = [...saved.slice(0, nAct), ...(sink ? params : saved.slice(nAct, nDiff))];
          const kept = saved.slice(nDiff);
          // The counter measures the model's forward FLOPs (bench/model's MFU); a replay is extra work, not the model's.
          const counted = flopCounter.forward;
          const grads = recomputedGrads(
            (...v: tf.Tensor[]) => body(v.slice(0, nAct), v.slice(nAct), kept, replay.fork()),
            xs, dy as tf.Tensor,
          );
          flopCounter.forward = counted;
          // Backward order of the terms is the tape's: the params' are handed over in the
          // order tfjs would add a node's input gradients (input order).
          if (sink) grads.slice(nAct).forEach((g, i) => sink.add(params[i]!, g));
          // Constants are masks built from data: nothing upstream asks for their gradient.
          return [...grads.slice(0, nDiff), ...kept.map((t) => tf.zerosLike(t))];
        }),
    };
  });
  return node(...acts, ...nodeParams, ...consts);
}

/**
 * fn(...inputs, ...constants) as one custom-gradient node that keeps only its inputs and replays
 * fn inside the backward pass: for parameter-free, deterministic pieces of a block whose
 * temporaries are large (GELU's on [N, 4C], window attention's scores and probabilities, each
 * 0.1 GB on fiber-base's 800 x 1088 stage-1 map; large convs' column matrices). Its gradients
 * are the same bits as without it when each input is read by a single op inside fn (its term is
 * that op's term, at the same place among the input's other readers) or by nothing outside fn
 * (all its terms are summed in the same order either way). Constants get no gradient.
 */
export function recomputed(fn: (...xs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[], constants: readonly tf.Tensor[] = []): tf.Tensor {
  const n = inputs.length;
  const node = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const all = args as tf.Tensor[];
    save(all);
    return {
      value: tf.tidy(() => fn(...all)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const kept = saved.slice(n);
          const counted = flopCounter.forward;
          const grads = recomputedGrads((...v: tf.Tensor[]) => fn(...v, ...kept), saved.slice(0, n), dy as tf.Tensor);
          flopCounter.forward = counted;
          return [...grads, ...kept.map((t) => tf.zerosLike(t))];
        }),
    };
  });
  return node(...inputs, ...constants);
}

/**
 * d(f(xs) . dy)/dxs with a tape of its own, called while the outer backward pass is running.
 * tfjs keeps one active tape per engine and clears it when a top-level gradient computation
 * ends; the outer computation still needs its own afterwards, so it is put back.
 */
function recomputedGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const engine = tf.engine() as unknown as EngineTapeState;
  const outer = engine.state.activeTape;
  try {
    return tf.grads(f)(xs, dy);
  } finally {
    engine.state.activeTape = outer;
  }
}
