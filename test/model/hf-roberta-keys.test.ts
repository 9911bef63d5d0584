import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hfRobertaStateDictKeys, hfToReferenceName } from '../../src/model/hf-roberta-keys.js';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { paramSpecs, TEXT_PREFIX } from '../../src/model/param-spec.js';

const BASE = MODEL_PRESETS['fiber-base'];
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

test('roberta-base as RobertaForMaskedLM saves it: roberta.* encoder, position_ids buffer, lm_head with its tied copies', () => {
  const keys = hfRobertaStateDictKeys(BASE);
  const byName = new Map(keys.map((k) => [k.name, k]));
  // position_ids + 5 embedding tensors + 12 layers x 16 + lm_head (bias, dense 2, layer_norm 2, decoder 2); no pooler.
  assert.equal(keys.length, 1 + 5 + 12 * 16 + 7);
  assert.deepEqual(byName.get('roberta.embeddings.position_ids'), { name: 'roberta.embeddings.position_ids', shape: [1, 514], dtype: 'I64', ignore: byName.get('roberta.embeddings.position_ids')!.ignore });
  assert.deepEqual(byName.get('roberta.embeddings.word_embeddings.weight')?.shape, [50265, 768]);
  assert.deepEqual(byName.get('roberta.embeddings.token_type_embeddings.weight')?.shape, [1, 768]);
  assert.deepEqual(byName.get('roberta.encoder.layer.11.intermediate.dense.weight')?.shape, [3072, 768]);
  assert.deepEqual(byName.get('lm_head.decoder.weight')?.shape, [50265, 768]);
  assert.ok(!byName.has('roberta.pooler.dense.weight'), 'RobertaForMaskedLM is built with add_pooling_layer=False');
  assert.ok(keys.filter((k) => k.name.startsWith('lm_head.')).every((k) => k.ignore));
  const encoder = keys.filter((k) => !k.ignore).reduce((n, k) => n + count(k.shape), 0);
  assert.ok(Math.abs(encoder - 124.06e6) < 0.005e6, `RoBERTa-base without pooler ${encoder} (reference §1.6: 124.06M)`);
});

test('RobertaModel: no prefix, with the pooler (0.59M, unused by FIBER)', () => {
  const keys = hfRobertaStateDictKeys(BASE, { model: 'base' });
  assert.ok(keys.every((k) => !k.name.startsWith('roberta.') && !k.name.startsWith('lm_head.')));
  const pooler = keys.filter((k) => k.name.startsWith('pooler.'));
  assert.deepEqual(pooler.map((k) => k.name), ['pooler.dense.weight', 'pooler.dense.bias']);
  assert.ok(Math.abs(pooler.reduce((n, k) => n + count(k.shape), 0) - 0.59e6) < 0.005e6);
});

for (const preset of ['fiber-tiny', 'fiber-small', 'fiber-base'] as const) {
  test(`${preset}: the encoder tensors are fiber's text backbone minus fusion, name for name and shape for shape`, () => {
    const cfg = MODEL_PRESETS[preset];
    const fiber = paramSpecs(cfg, 'coarse').filter((s) => s.component === 'text_backbone').map((s) => `${s.name} [${s.shape.join(',')}]`).sort();
    for (const model of ['masked-lm', 'base'] as const) {
      const hf = hfRobertaStateDictKeys(cfg, { model }).filter((k) => !k.ignore).map((k) => `${TEXT_PREFIX}${hfToReferenceName(k.name)} [${k.shape.join(',')}]`).sort();
      assert.deepEqual(hf, fiber, model);
    }
  });
}
