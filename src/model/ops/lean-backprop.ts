import * as tf from '@tensorflow/tfjs';

/*
 * tfjs's backward pass (Engine.gradients) holds every tensor it touches until the pass ends: each
 * node's output gradients after the node has used them, each input gradient after it was added
 * into a sum, and each node's saved activations after its gradient ran. For fiber-base's fine
 * step at 800 x 1088 those are gigabytes (per-block gradients of the Swin stages and the DyHead
 * tower, the FPN's im2col columns), and the 4 GiB wasm heap ran out.
 *
 * `withLeanBackprop` swaps in a backward pass that walks the same tape in the same order and runs
 * the same gradient kernels, so results are the same bits, but frees a gradient as soon as no
 * later node can read it and a node's saved tensors once its gradient has run. It relies on
 * engine internals (the tape, startTape/endTape, scopedRun), as ops/block-call.ts already does:
 * a tfjs upgrade that changes them breaks test/model/ops/lean-backprop.test.ts first.
 */

/** A tfjs tape node, as Engine.addTapeNode records it. */
interface TapeNode {
  readonly id: number;
  readonly kernelName: string;
  readonly inputs: Record<string, tf.Tensor>;
  readonly outputs: tf.Tensor[];
  readonly gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  readonly saved?: tf.Tensor[];
}

type GradientsFn = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };

/** The engine members the backward pass needs (tfjs-core engine.ts). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  gradients: GradientsFn;
}

let depth = 0;

/** Runs `fn` with the lean backward pass installed on the engine (nesting is fine). */
export function withLeanBackprop<T>(fn: () => T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  const stock = engine.gradients;
  if (depth === 0) engine.gradients = leanGradients;
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    if (depth === 0) engine.gradients = stock;
  }
}

/**
 * Engine.gradients with early frees: the forward pass, the tape filtering and the order of the
 * gradient kernels are tfjs's; only the lifetime of tensors differs.
 */
const leanGradients: GradientsFn = function leanGradients(this: EngineInternals, f, xs, dy, allowNoGradients = false) {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(() => this.startTape(), () => this.endTape(), () => this.tidy('forward', f));
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = tapeFromXsToY(this.state.activeTape ?? [], xs, y);
  if (!allowNoGradients && tape.length === 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  return this.tidy('backward', () => {
    const sums = new GradientSums(xs, dy);
    sums.set(y, dy ?? tf.ones(y.shape));
    // Higher-order gradients would read saved tensors again; fiber never asks for them.
    const freeSaved = this.state.gradientDepth === 0;
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i]!;
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const dys = node.outputs.map((o) => sums.get(o) ?? null);
      // One scope per node: zero dys tfjs makes for unused outputs, and whatever a custom
      // gradient computed but did not return, go with it.
      const dxs = this.tidy(node.kernelName, () => {
        const fns = node.gradient!(dys);
        const out: Record<string, tf.Tensor> = {};
        for (const name of Object.keys(node.inputs)) {
          if (!(name in fns)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(fns)}.`);
          out[name] = fns[name]!();
        }
        return out;
      });
      for (const [name, x] of Object.entries(node.inputs)) {
        const dx = dxs[name]!;
        if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        if (dx.shape.join() !== x.shape.join()) {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        }
        sums.accumulate(x, dx);
      }
      // Only now: one tensor can be the gradient of two inputs.
      for (const dx of new Set(Object.values(dxs))) sums.freeIfUnused(dx);
      // Every reader of this node's outputs came later on the tape and has run.
      for (const o of node.outputs) sums.release(o);
      if (freeSaved) for (const t of node.saved ?? []) t.dispose();
    }
    if (freeSaved) {
      // As tfjs: nodes off the x -> y paths saved tensors too; the tape is done with.
      for (const node of this.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
      this.state.activeTape = null;
    }
    return { value: y, grads: xs.map((x) => sums.get(x)) };
  });
};

/**
 * Running gradient sums by tensor id. A gradient tensor can be stored under several ids (a
 * gradient function may hand its dy on as dx), so it is freed only when no id refers to it any
 * more; the caller's dy and the requested xs' sums are never freed here.
 */
class GradientSums {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly refs = new Map<tf.Tensor, number>();
  private readonly wanted: Set<number>;

  constructor(xs: readonly tf.Tensor[], private readonly callersDy: tf.Tensor | undefined) {
    this.wanted = new Set(xs.map((x) => x.id));
  }

  get(t: tf.Tensor): tf.Tensor | undefined {
    return this.byId.get(t.id);
  }

  set(t: tf.Tensor, g: tf.Tensor): void {
    this.byId.set(t.id, g);
    this.refs.set(g, (this.refs.get(g) ?? 0) + 1);
  }

  /**
   * sum[x] += dx, with tfjs's `add(cur, dx)` operand order (the same bits). A `dx` that ends up in
   * no sum is the caller's to free (freeIfUnused), once every input of its node is accumulated.
   */
  accumulate(x: tf.Tensor, dx: tf.Tensor): void {
    const cur = this.byId.get(x.id);
    if (!cur) {
      this.set(x, dx);
      return;
    }
    const sum = tf.add(cur, dx);
    this.drop(x);
    this.set(x, sum);
  }

  /** The gradient of `t` has been read for the last time. */
  release(t: tf.Tensor): void {
    if (!this.wanted.has(t.id)) this.drop(t);
  }

  private drop(t: tf.Tensor): void {
    const g = this.byId.get(t.id);
    if (!g) return;
    this.byId.delete(t.id);
    const left = (this.refs.get(g) ?? 1) - 1;
    if (left > 0) this.refs.set(g, left);
    else {
      this.refs.delete(g);
      this.freeIfUnused(g);
    }
  }

  /** Frees `g` unless some id still refers to it or it is the caller's dy. */
  freeIfUnused(g: tf.Tensor): void {
    if (!this.refs.has(g) && g !== this.callersDy) g.dispose();
  }
}

/**
 * The tape nodes on a path from some x to y, in tape order, each with only the inputs that depend
 * on an x (what tfjs's getFilteredNodesXToY keeps, so the same gradients are asked for).
 */
function tapeFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodeFromX.add(node.id);
    }
  }
  const toY = new Set([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodeToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs = Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id)));
    out.push({ ...node, inputs });
  }
  return out;
}
