import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { stageDataConfig } from '../../src/stage/data-config.js';

test('both stages take their image side from model.imageSize, the one image size of a run', () => {
  const c = resolveRunConfig({ preset: 'fiber-tiny', sets: ['model.imageSize=96', 'data.coarse.shards=s3://b/0.tar'] });
  const coarse = stageDataConfig(c, 'coarse', 'train');
  assert.equal(coarse.imageSize, 96);
  const fine = stageDataConfig(c, 'fine', 'train');
  assert.equal(fine.imageSize, 96);
  assert.deepEqual(fine.fine.padTo, { height: 96, width: 96 });
});
