import * as tf from '@tensorflow/tfjs';

/** The part of the wasm backend these kernels use: its reference count per data buffer. */
interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

/**
 * tfjs saves every tensor a gradient needs as `engine.clone(t)`, which runs the Identity kernel,
 * and the wasm backend's Identity (and its same-dtype Cast) copies the buffer. So on wasm every
 * weight a matmul saves for its backward pass was copied, once per use per step: for fiber-base
 * that is the whole backbone again per pass, and it did not fit the 4 GiB heap. Tensors are
 * immutable (Variable.assign swaps buffers, it does not write in place), so sharing the buffer
 * is what the cpu backend's Identity does too; values are unchanged, only copies disappear.
 * Idempotent; a no-op unless the wasm backend is registered.
 */
export function registerWasmNoCopyKernels(): void {
  const identity = tf.getKernel('Identity', 'wasm');
  const cast = tf.getKernel('Cast', 'wasm');
  if (!identity || !cast || (identity as { fiberShared?: boolean }).fiberShared) return;
  const share = (x: tf.TensorInfo, backend: unknown): tf.TensorInfo => {
    (backend as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel('Identity', 'wasm');
  tf.unregisterKernel('Cast', 'wasm');
  tf.registerKernel({
    ...identity,
    kernelFunc: (args) => (args.inputs.x!.dtype === 'string' ? identity.kernelFunc(args) : share(args.inputs.x!, args.backend)),
  });
  tf.registerKernel({
    ...cast,
    kernelFunc: (args) => (args.inputs.x!.dtype === (args.attrs as { dtype: string }).dtype ? share(args.inputs.x!, args.backend) : cast.kernelFunc(args)),
  });
  (tf.getKernel('Identity', 'wasm') as { fiberShared?: boolean }).fiberShared = true;
}
