import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesceReads } from '../../../src/data/webdataset/range-plan.js';

test('coalesceReads merges near neighbours per shard, splits on gaps and size caps, reads duplicates once', () => {
  const r = (shardUrl: string, offset: number, size: number) => ({ shardUrl, key: `${shardUrl}${offset}`, offset, size });
  const groups = coalesceReads([r('a', 5000, 100), r('a', 0, 1000), r('a', 1200, 300), r('b', 0, 10), r('a', 1200, 300), r('a', 9000, 100)], 500, 4000);
  assert.deepEqual(groups.map((g) => [g.shardUrl, g.range.offset, g.range.length, g.samples.length]), [
    ['a', 0, 1500, 2],
    ['a', 5000, 100, 1],
    ['a', 9000, 100, 1],
    ['b', 0, 10, 1],
  ]);
  const capped = coalesceReads([r('a', 0, 3000), r('a', 3000, 3000)], 500, 4000);
  assert.equal(capped.length, 2, 'the cap on one GET holds');
});
