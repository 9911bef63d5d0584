import { SeededRng } from '../../src/model/seeded-rng.js';
import type { SafeTensor } from '../../src/model/safetensors.js';
import type { StateDictKey } from '../../src/model/state-dict-key.js';

/**
 * A state dict as a pretrained file holds it, written from a published key list: seeded float
 * values (small, like trained weights), int64 index buffers counting up. What the import tests
 * and the pretrained-start round trip feed `fiber model init`.
 */
export function stateDictFile(keys: readonly StateDictKey[], seed: number): Map<string, SafeTensor> {
  const rng = new SeededRng(seed);
  const out = new Map<string, SafeTensor>();
  for (const k of keys) {
    const n = k.shape.reduce((a, b) => a * b, 1);
    const data = k.dtype === 'I64' ? BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) : Float32Array.from({ length: n }, () => 0.02 * rng.normal());
    out.set(k.name, { dtype: k.dtype, shape: k.shape, data });
  }
  return out;
}
