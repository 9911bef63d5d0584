import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkSquareSums, foldWithSquareSums } from '../../src/ps/grad-norm.js';
import { CHUNK } from '../../src/stage/shard-layout.js';

const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('foldWithSquareSums', () => {
  const n = 2 * CHUNK + 777;
  const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 1e-2);
  const b = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11) * 3e-3);

  it('adds and gives the chunk norms of the sum, to the bit, as a fold then chunkSquareSums', () => {
    const separate = a.slice();
    for (let i = 0; i < n; i++) separate[i] = separate[i]! + b[i]!;
    const fused = a.slice();
    const parts = foldWithSquareSums(fused, b, false, CHUNK * 4);
    assert.equal(bits(fused), bits(separate));
    assert.equal(bits(parts), bits(chunkSquareSums(separate, CHUNK * 4)));
    assert.equal(parts.length, 3);
  });

  it('copies the first contribution (a one-task step)', () => {
    const acc = new Float32Array(n).fill(42);
    const parts = foldWithSquareSums(acc, a, true, 0);
    assert.equal(bits(acc), bits(a));
    assert.equal(bits(parts), bits(chunkSquareSums(a, 0)));
  });

  it('refuses a shard start off the chunk grid', () => {
    assert.throws(() => foldWithSquareSums(new Float32Array(4), new Float32Array(4), true, 3), /not chunk-aligned/);
  });
});
