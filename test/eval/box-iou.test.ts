import assert from 'node:assert/strict';
import { it } from 'node:test';
import { boxIou, type Box } from '../../src/eval/box-iou.js';

it('boxIou: hand-computed cases', () => {
  const cases: Array<[Box, Box, number, string]> = [
    [[0, 0, 2, 2], [0, 0, 2, 2], 1, 'identical'],
    [[0, 0, 2, 2], [1, 0, 3, 2], 2 / 6, 'half shifted: 2 / (4 + 4 - 2)'],
    [[0, 0, 4, 4], [0, 0, 2, 2], 4 / 16, 'contained'],
    [[0, 0, 1, 1], [1, 0, 2, 1], 0, 'touching edges share no area'],
    [[0, 0, 1, 1], [5, 5, 6, 6], 0, 'disjoint'],
    [[0, 0, 2, 1], [0, 0, 1, 1], 0.5, 'exactly 0.5'],
    [[1, 1, 1, 1], [1, 1, 1, 1], 0, 'two empty boxes: 0, not NaN'],
    [[2, 2, 0, 0], [0, 0, 2, 2], 0, 'an inverted box has no area'],
  ];
  for (const [a, b, want, why] of cases) {
    assert.ok(Math.abs(boxIou(a, b) - want) < 1e-12, `${why}: ${boxIou(a, b)}`);
    assert.equal(boxIou(a, b), boxIou(b, a), `${why}: symmetric`);
  }
});
