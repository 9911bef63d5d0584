import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkSquareSums, globalNorm } from '../../src/ps/grad-norm.js';
import type { ServerParamSpec as ParamSpec } from '../../src/model/param-spec.js';
import { CHUNK, planLayout, shardSize, shardSlices } from '../../src/stage/shard-layout.js';

const spec = (name: string, shape: number[]): ParamSpec => ({ name, shape, group: 'backbone', noDecay: false });
const specs = [spec('a', [3, CHUNK]), spec('b', [7]), spec('c', [CHUNK * 2 + 5]), spec('d', [1])];

describe('planLayout', () => {
  it('covers every element once, chunk-aligned, balanced by bytes', () => {
    for (const S of [1, 2, 3, 4, 7]) {
      const layout = planLayout(specs, S);
      assert.equal(layout.shardStarts[0], 0);
      assert.equal(layout.shardStarts[S], layout.totalElements);
      for (let s = 1; s < S; s++) {
        assert.ok(layout.shardStarts[s]! >= layout.shardStarts[s - 1]!);
        assert.equal(layout.shardStarts[s]! % CHUNK, 0);
      }
      const sizes = Array.from({ length: S }, (_, s) => shardSize(layout, s));
      assert.ok(sizes.every((n) => Math.abs(n - layout.totalElements / S) <= CHUNK), `S=${S}: ${sizes}`);
      // Slices reassemble every tensor exactly once.
      const covered = specs.map(() => 0);
      for (let s = 0; s < S; s++) for (const sl of shardSlices(layout, specs, s)) covered[sl.index]! += sl.length;
      assert.deepEqual(covered, specs.map((x) => x.shape.reduce((a, b) => a * b, 1)));
    }
  });

  it('splits a large tensor into ranges', () => {
    const layout = planLayout([spec('big', [CHUNK * 4])], 2);
    assert.deepEqual(shardSlices(layout, [spec('big', [CHUNK * 4])], 1), [{ name: 'big', index: 0, tensorOffset: CHUNK * 2, shardOffset: 0, length: CHUNK * 2 }]);
  });

  it('gives the same global norm bits for any number of shards', () => {
    const layout1 = planLayout(specs, 1);
    const grad = Float32Array.from({ length: layout1.totalElements }, (_, i) => Math.sin(i * 0.37) * 1e-3);
    const norms = [1, 2, 3, 5].map((S) => {
      const layout = planLayout(specs, S);
      const parts = Array.from({ length: S }, (_, s) => chunkSquareSums(grad.subarray(layout.shardStarts[s], layout.shardStarts[s + 1]), layout.shardStarts[s]!));
      return globalNorm(parts);
    });
    assert.ok(norms.every((n) => Object.is(n, norms[0])), `${norms}`);
  });
});
