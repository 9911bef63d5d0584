import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anchorPoints, assignFcosTargets, fcosSizeRanges, type LevelGeometry } from '../../src/model/fine-targets.js';

/** fiber-tiny's fine head at 64 px: P3..P7 at strides 8..128. */
const LEVELS: LevelGeometry[] = [8, 16, 32, 64, 128].map((stride) => ({ stride, height: Math.ceil(64 / stride), width: Math.ceil(64 / stride) }));

const positivesOf = (assigned: Int32Array, box: number) => [...assigned.keys()].filter((p) => assigned[p] === box);

describe('FCOS size ranges', () => {
  it('are 4 to 8 strides of each level in pixels, whatever the image size', () => {
    assert.deepEqual(fcosSizeRanges(LEVELS), [[0, 64], [64, 128], [128, 256], [256, 512], [512, Infinity]]);
  });
});

describe('assignFcosTargets', () => {
  it('gives a 26 px object of a 64 px image every P3 point inside it (not a single P5 point)', () => {
    const t = assignFcosTargets(LEVELS, Float32Array.from([10, 12, 36, 38]), Int32Array.from([1]));
    const points = anchorPoints(LEVELS);
    const pos = positivesOf(t.assigned, 0);
    // P3 points sit at 4, 12, 20, ...: x in {12, 20, 28}, y in {20, 28, 36} (12 is on the edge, not inside).
    assert.equal(pos.length, 9);
    for (const p of pos) {
      assert.ok(p < 64, `point ${p} is on P3`);
      const x = points[2 * p]!, y = points[2 * p + 1]!;
      assert.ok(x > 10 && x < 36 && y > 12 && y < 38, `point (${x}, ${y}) lies inside the box`);
    }
    assert.equal(t.numPositive, 9);
    // Each positive regresses exactly to the box, and the centre point has the highest centerness.
    for (const p of pos) {
      const [l, tp, r, b] = t.ltrb.subarray(4 * p, 4 * p + 4);
      const x = points[2 * p]!, y = points[2 * p + 1]!;
      assert.deepEqual([x - l!, y - tp!, x + r!, y + b!], [10, 12, 36, 38]);
    }
    const best = pos.reduce((a, p) => (t.centerness[p]! > t.centerness[a]! ? p : a));
    assert.deepEqual([points[2 * best], points[2 * best + 1]], [20, 28]);
  });

  it('splits a 100 px object by reach: points near its centre on P3, the rest on P4', () => {
    const t = assignFcosTargets(
      [{ stride: 8, height: 24, width: 24 }, { stride: 16, height: 12, width: 12 }],
      Float32Array.from([0, 0, 100, 100]), Int32Array.from([1]),
    );
    const pos = positivesOf(t.assigned, 0);
    assert.ok(pos.some((p) => p >= 24 * 24), 'some points on P4');
    assert.ok(pos.some((p) => p < 24 * 24), 'points near the centre (reach <= 64) stay on P3');
  });

  it('a box between P3 points takes its nearest point; overlapping boxes go to the smaller one', () => {
    // A 5 px wide bar between the P3 columns at x = 4 and x = 12.
    const thin = assignFcosTargets(LEVELS, Float32Array.from([5, 20, 10, 50]), Int32Array.from([1]));
    assert.equal(positivesOf(thin.assigned, 0).length, 1);
    const both = assignFcosTargets(LEVELS, Float32Array.from([0, 0, 64, 64, 16, 16, 32, 32]), Int32Array.from([1, 1]));
    const points = anchorPoints(LEVELS);
    for (const p of positivesOf(both.assigned, 0)) {
      const x = points[2 * p]!, y = points[2 * p + 1]!;
      assert.ok(!(x > 16 && x < 32 && y > 16 && y < 32), 'points inside the small box belong to it');
    }
    assert.equal(positivesOf(both.assigned, 1).length, 4);
  });

  it('ignores padded boxes', () => {
    const t = assignFcosTargets(LEVELS, Float32Array.from([10, 12, 36, 38, 0, 0, 0, 0]), Int32Array.from([1, 0]));
    assert.equal(positivesOf(t.assigned, 1).length, 0);
  });
});
