import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { stageDataConfig } from '../../src/stage/data-config.js';

test('coarse images are squares of model.imageSize; fine images keep their aspect, sized by data.fine', () => {
  const c = resolveRunConfig({ preset: 'fiber-tiny', sets: ['model.imageSize=96', 'data.coarse.shards=s3://b/0.tar', 'data.fine.minSizes=[64,80]', 'data.fine.maxSize=133'] });
  const coarse = stageDataConfig(c, 'coarse', 'train');
  assert.equal(coarse.imageSize, 96);
  const fine = stageDataConfig(c, 'fine', 'train');
  // No fixed canvas: each batch pads to its largest image, rounded up to the size divisibility.
  assert.equal(fine.fine.padTo, undefined);
  assert.equal(fine.fine.sizeDivisibility, 32);
  assert.deepEqual([fine.fine.minSizes, fine.fine.maxSize], [[64, 80], 133]);
  // Evaluation: the largest training scale, no flip.
  const evalFine = stageDataConfig(c, 'fine', 'eval');
  assert.deepEqual([evalFine.fine.minSizes, evalFine.fine.maxSize, evalFine.fine.flipProbability], [[80], 133, 0]);
});
