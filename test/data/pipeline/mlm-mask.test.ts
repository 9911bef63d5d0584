import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MLM, maskTokens } from '../../../src/data/pipeline/mlm-mask.js';
import { createRng } from '../../../src/data/pipeline/rng.js';
import { MLM_IGNORE, ROBERTA_SPECIAL_IDS } from '../../../src/model/batch.js';

test('MLM masking: 15% of ordinary tokens, 80/10/10, never special or pad, deterministic per seed', () => {
  const b = 200, l = 50;
  const ids = new Int32Array(b * l).fill(ROBERTA_SPECIAL_IDS.pad);
  const special = new Uint8Array(b * l).fill(1);
  for (let i = 0; i < b; i++) {
    ids[i * l] = 0;
    for (let j = 1; j < 40; j++) {
      ids[i * l + j] = 100 + ((i * 7 + j) % 1000);
      special[i * l + j] = 0;
    }
    ids[i * l + 40] = 2;
  }
  const regular = Int32Array.from({ length: 50260 }, (_, i) => i + 4);
  const mask = () => maskTokens(ids, special, ROBERTA_SPECIAL_IDS.mask, regular, createRng(1), DEFAULT_MLM);
  const { ids: mlmInputIds, labels: mlmLabels } = mask();
  let selected = 0, masked = 0, kept = 0;
  for (let i = 0; i < ids.length; i++) {
    if (mlmLabels[i] === MLM_IGNORE) {
      assert.equal(mlmInputIds[i], ids[i]);
      continue;
    }
    assert.ok(special[i] === 0 && ids[i]! >= 100, 'only ordinary tokens are selected');
    assert.equal(mlmLabels[i], ids[i]);
    selected++;
    if (mlmInputIds[i] === ROBERTA_SPECIAL_IDS.mask) masked++;
    else if (mlmInputIds[i] === ids[i]) kept++;
  }
  const eligible = b * 39;
  assert.ok(Math.abs(selected / eligible - 0.15) < 0.02, `selected ${selected / eligible}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.05, `masked ${masked / selected}`);
  assert.ok(Math.abs(kept / selected - 0.1) < 0.04, `kept ${kept / selected}`);
  assert.deepEqual(mask().ids, mlmInputIds);
});
