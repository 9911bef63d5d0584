import * as tf from '@tensorflow/tfjs';
import { FiberError } from '../errors/index.js';
import { registerWasmNoCopyKernels } from './ops/wasm-no-copy-kernels.js';

/** Backends in the order fiber prefers them; FIBER_BACKEND may force any one of these. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendChoice {
  /** The tfjs backend now active (`tf.getBackend()`). */
  readonly name: BackendName;
  /** Why this one: forced, or which faster ones were skipped and why. */
  readonly reason: string;
}

/** Package that provides each backend; the native two are optionalDependencies (libtensorflow). */
const PACKAGE: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

/** tfjs-node-gpu registers its backend under the same name as tfjs-node. */
const TFJS_NAME: Record<BackendName, string> = { 'tensorflow-gpu': 'tensorflow', tensorflow: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let chosen: Promise<BackendChoice> | undefined;

/**
 * Picks and activates the fastest available backend once per process: tfjs-node-gpu, tfjs-node,
 * wasm, then the pure-JS cpu backend. Each is loaded by dynamic import so a missing optional
 * package is skipped with a reason instead of failing start-up. `env.FIBER_BACKEND` forces one;
 * an unknown or unavailable name is a usage error that lists the accepted values.
 */
export function selectBackend(env: NodeJS.ProcessEnv = process.env): Promise<BackendChoice> {
  chosen ??= chooseBackend(env.FIBER_BACKEND);
  return chosen;
}

/** selectBackend without the once-per-process memo: activates `forced` or the first available. */
export async function chooseBackend(forced: string | undefined): Promise<BackendChoice> {
  if (forced !== undefined && forced !== '') {
    if (!(BACKEND_NAMES as readonly string[]).includes(forced)) {
      throw new FiberError('fiber.model.backend', 'usage', `FIBER_BACKEND=${forced} is not a backend; accepted values: ${BACKEND_NAMES.join(', ')}`, { accepted: [...BACKEND_NAMES] });
    }
    const name = forced as BackendName;
    const failure = await tryActivate(name);
    if (failure) throw new FiberError('fiber.model.backend', 'usage', `FIBER_BACKEND=${name} is unavailable: ${failure}; accepted values: ${BACKEND_NAMES.join(', ')}`, { accepted: [...BACKEND_NAMES] });
    return { name, reason: `forced by FIBER_BACKEND` };
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    const failure = await tryActivate(name);
    if (!failure) return { name, reason: skipped.length ? `skipped ${skipped.join('; ')}` : 'first choice' };
    skipped.push(`${name} (${failure})`);
  }
  throw new FiberError('fiber.model.backend', 'runtime', `no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

/** Returns undefined on success, else a one-line reason. */
async function tryActivate(name: BackendName): Promise<string | undefined> {
  try {
    if (name !== 'cpu') await import(PACKAGE[name]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'ERR_MODULE_NOT_FOUND' ? `${PACKAGE[name]} not installed` : `${PACKAGE[name]} failed to load: ${firstLine(err)}`;
  }
  try {
    if (name === 'wasm') registerWasmNoCopyKernels();
    const ok = await tf.setBackend(TFJS_NAME[name]);
    if (!ok) return `tf.setBackend('${TFJS_NAME[name]}') returned false`;
    await tf.ready();
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? '';
}
