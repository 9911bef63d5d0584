import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anchorBoxes, anchorCentres, boxIouPlusOne, type LevelGeometry } from '../../src/model/fine-anchors.js';
import { assignAtss } from '../../src/model/fine-targets.js';

/** fiber-tiny's fine head at 64 px: P3..P7 at strides 8..128 (64 + 16 + 4 + 1 + 1 = 86 anchors). */
const LEVELS: LevelGeometry[] = [8, 16, 32, 64, 128].map((stride) => ({ stride, height: Math.ceil(64 / stride), width: Math.ceil(64 / stride) }));

const positivesOf = (assigned: Int32Array, box: number) => [...assigned.keys()].filter((p) => assigned[p] === box);
/** P3 anchor index of row i, column j. */
const p3 = (i: number, j: number) => 8 * i + j;

describe('anchors', () => {
  it('one per location, 8 strides wide, centred at j s + (s - 1) / 2 (maskrcnn-benchmark)', () => {
    const a = anchorBoxes(LEVELS);
    assert.equal(a.length / 4, 86);
    assert.deepEqual([...a.subarray(0, 4)], [-28, -28, 35, 35]); // P3 (0, 0): centre 3.5, 64 px in the +1 convention
    assert.deepEqual([...anchorCentres(a).subarray(2 * 64, 2 * 64 + 2)], [7.5, 7.5]); // first P4 anchor
    assert.deepEqual([...a.subarray(4 * 85)], [63.5 - 511.5, 63.5 - 511.5, 63.5 + 511.5, 63.5 + 511.5]); // P7
  });

  it('model.fineAnchorStrides sets the side in strides: 3 at fiber-tiny gives 24 px on P3, 48 on P4', () => {
    const a = anchorBoxes(LEVELS, 3);
    assert.deepEqual([...a.subarray(0, 4)], [3.5 - 11.5, 3.5 - 11.5, 3.5 + 11.5, 3.5 + 11.5]); // 24 px in the +1 convention
    assert.deepEqual([...a.subarray(4 * 64, 4 * 64 + 4)], [7.5 - 23.5, 7.5 - 23.5, 7.5 + 23.5, 7.5 + 23.5]); // first P4 anchor: 48 px
    assert.deepEqual(anchorCentres(a), anchorCentres(anchorBoxes(LEVELS))); // same centres as the reference's
  });

  it('IoU uses the +1 pixel convention of boxlist_iou', () => {
    // [0, 1] x [0, 1] is 2 x 2 = 4 pixels; [1, 2] x [0, 1] overlaps it in 1 x 2.
    assert.equal(boxIouPlusOne([0, 0, 1, 1], 0, [1, 0, 2, 1], 0), 2 / 6);
  });
});

describe('assignAtss', () => {
  it('a 34 x 32 box: the 9 nearest P3 anchors (all inside it) pass mean + std; no coarser level does', () => {
    // Centre (23, 26). Every P3 anchor (64 px) contains the box: IoU 0.282 for the 9 nearest
    // ones; P4-P7 anchors are larger and score lower, pulling the mean + std threshold (0.254)
    // below 0.282 and above all of them.
    const t = assignAtss(LEVELS, Float32Array.from([6, 10, 40, 42]), Int32Array.from([1]));
    assert.deepEqual(positivesOf(t.assigned, 0), [p3(2, 1), p3(2, 2), p3(2, 3), p3(3, 1), p3(3, 2), p3(3, 3), p3(3, 4), p3(4, 2), p3(4, 3)]);
    assert.equal(t.numPositive, 9);
    // Centerness of P3 (3, 3), centre (27.5, 27.5): l = 21.5, r = 12.5, t = 17.5, b = 14.5.
    assert.ok(Math.abs(t.centerness[p3(3, 3)]! - Math.sqrt((12.5 / 21.5) * (14.5 / 17.5))) < 1e-6);
  });

  it('the whole 64 px image: only the 4 central P3 anchors have IoU above mean + std', () => {
    const t = assignAtss(LEVELS, Float32Array.from([0, 0, 64, 64]), Int32Array.from([1]));
    assert.deepEqual(positivesOf(t.assigned, 0), [p3(3, 3), p3(3, 4), p3(4, 3), p3(4, 4)]);
  });

  it('a 10 x 8 box gets the one candidate above the threshold whose centre is inside it', () => {
    // P3 (4, 3) has centre (27.5, 35.5), inside [20, 30] x [30, 38].
    const t = assignAtss(LEVELS, Float32Array.from([20, 30, 30, 38]), Int32Array.from([1]));
    assert.deepEqual(positivesOf(t.assigned, 0), [p3(4, 3)]);
  });

  it('ignores padded boxes; an anchor claimed by two boxes takes the one it overlaps more', () => {
    const boxes = Float32Array.from([6, 10, 40, 42, /* padding */ 0, 0, 64, 64, /* the whole image */ 0, 0, 64, 64]);
    const t = assignAtss(LEVELS, boxes, Int32Array.from([1, 0, 1]));
    assert.deepEqual(positivesOf(t.assigned, 1), []);
    // The 4 central anchors are positive for both boxes; IoU with the full image (0.76-0.81)
    // beats IoU with the small box (0.28).
    assert.deepEqual(positivesOf(t.assigned, 2), [p3(3, 3), p3(3, 4), p3(4, 3), p3(4, 4)]);
    assert.deepEqual(positivesOf(t.assigned, 0), [p3(2, 1), p3(2, 2), p3(2, 3), p3(3, 1), p3(3, 2), p3(4, 2)]);
    const none = assignAtss(LEVELS, boxes, Int32Array.from([0, 0, 0]));
    assert.equal(none.numPositive, 0);
  });
});
