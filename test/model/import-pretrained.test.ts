import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FiberError } from '../../src/errors/index.js';
import { hfRobertaStateDictKeys, hfToReferenceName, type HfRobertaModel } from '../../src/model/hf-roberta-keys.js';
import { importPretrained } from '../../src/model/import-pretrained.js';
import { initParams } from '../../src/model/init-params.js';
import { IMAGE_PREFIX, paramSpecs, TEXT_PREFIX } from '../../src/model/param-spec.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/model/safetensors.js';
import { timmSwinStateDictKeys, timmToReferenceName, type TimmSwinLayout } from '../../src/model/timm-swin-keys.js';
import { stateDictFile } from '../helpers/pretrained-files.js';
import { TINY } from './fixtures.js';

const specs = paramSpecs(TINY, 'coarse');
/** Through real bytes: what `fiber model init` reads. */
const roundTrip = (m: Map<string, SafeTensor>) => readSafetensors(writeSafetensors(m)).tensors;
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

for (const layout of ['timm-0.4', 'timm-0.9'] as const satisfies readonly TimmSwinLayout[]) {
  test(`a ${layout} Swin file written from the published key list fills the image backbone; buffers and head are reported with reasons`, () => {
    const file = roundTrip(stateDictFile(timmSwinStateDictKeys(TINY, { layout, numClasses: 21841 }), 11));
    const weights = initParams(TINY, 'coarse', 3);
    const fusionBefore = bits(weights.get('vit_model.layers.3.blocks.0.attn.qkv_i2t.weight')!).toString('hex');
    const r = importPretrained(TINY, 'coarse', weights, 'timm-swin', file);
    assert.equal(r.layout, layout);
    assert.deepEqual(r.loaded.sort(), specs.filter((s) => s.component === 'image_backbone').map((s) => s.name).sort());
    for (const [name, t] of file) {
      const fiberName = IMAGE_PREFIX + timmToReferenceName(name, layout);
      if (r.loaded.includes(fiberName)) assert.ok(bits(weights.get(fiberName)!).equals(bits(t.data as Float32Array)), `${fiberName} carries ${name}'s bits`);
    }
    assert.equal(bits(weights.get('vit_model.layers.3.blocks.0.attn.qkv_i2t.weight')!).toString('hex'), fusionBefore, 'fusion keeps its init');
    assert.equal(weights.get('vit_model.layers.2.blocks.2.attn.alpha_i2t')![0], 0);
    const reasons = new Map(r.ignored.map((i) => [i.name, i.reason]));
    assert.match(reasons.get(layout === 'timm-0.4' ? 'head.weight' : 'head.fc.weight')!, /classifier/);
    if (layout === 'timm-0.4') {
      assert.match(reasons.get('layers.0.blocks.0.attn.relative_position_index')!, /buffer/);
      assert.match(reasons.get('layers.2.blocks.1.attn_mask')!, /buffer/);
      assert.equal(r.ignored.length, 2 + 8 + 2, 'head 2, relative_position_index in all 8 blocks, attn_mask in the 2 shifted ones (stage 3, blocks 1 and 3)');
    } else assert.equal(r.ignored.length, 2);
  });
}

for (const model of ['masked-lm', 'base'] as const satisfies readonly HfRobertaModel[]) {
  test(`a HF ${model} RoBERTa file fills the text backbone; position_ids, pooler and LM head are reported with reasons`, () => {
    const file = roundTrip(stateDictFile(hfRobertaStateDictKeys(TINY, { model }), 12));
    const weights = initParams(TINY, 'coarse', 3);
    const r = importPretrained(TINY, 'coarse', weights, 'hf-roberta', file);
    assert.equal(r.layout, model);
    assert.deepEqual(r.loaded.sort(), specs.filter((s) => s.component === 'text_backbone').map((s) => s.name).sort());
    for (const name of r.loaded) assert.ok(bits(weights.get(name)!).equals(bits(file.get(`${model === 'masked-lm' ? 'roberta.' : ''}${name.slice(TEXT_PREFIX.length)}`)!.data as Float32Array)), name);
    const ignored = r.ignored.map((i) => hfToReferenceName(i.name)).sort();
    assert.deepEqual(ignored, model === 'masked-lm'
      ? ['embeddings.position_ids', 'lm_head.bias', 'lm_head.decoder.bias', 'lm_head.decoder.weight', 'lm_head.dense.bias', 'lm_head.dense.weight', 'lm_head.layer_norm.bias', 'lm_head.layer_norm.weight']
      : ['embeddings.position_ids', 'pooler.dense.bias', 'pooler.dense.weight']);
  });
}

test('the tied lm_head copies, the pooler and position_ids are optional: a file without them imports', () => {
  const file = stateDictFile(hfRobertaStateDictKeys(TINY).filter((k) => !/decoder|position_ids/.test(k.name)), 4);
  const r = importPretrained(TINY, 'coarse', initParams(TINY, 'coarse', 0), 'hf-roberta', file);
  assert.equal(r.ignored.length, 5);
});

test('the fine stage has no final Swin norm: the file\'s norm is reported as ignored, not unexpected', () => {
  const file = stateDictFile(timmSwinStateDictKeys(TINY, { numClasses: 0 }), 5);
  const r = importPretrained(TINY, 'fine', initParams(TINY, 'fine', 0), 'timm-swin', file);
  assert.deepEqual(r.ignored.filter((i) => i.name.startsWith('norm.')).map((i) => i.name), ['norm.weight', 'norm.bias']);
  assert.match(r.ignored.find((i) => i.name === 'norm.weight')!.reason, /not in fiber's fine model/);
});

test('missing backbone tensors, names timm never writes and wrong shapes each fail the import, named as in the file', () => {
  const file = stateDictFile(timmSwinStateDictKeys(TINY), 6);
  file.delete('layers.1.blocks.0.mlp.fc2.weight');
  file.delete('layers.0.blocks.0.attn.relative_position_index');
  file.set('layers.9.blocks.0.mystery', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  file.set('norm.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
  const before = initParams(TINY, 'coarse', 0);
  const weights = new Map(before);
  assert.throws(() => importPretrained(TINY, 'coarse', weights, 'timm-swin', file), (err: unknown) => {
    assert.ok(err instanceof FiberError);
    assert.equal(err.code, 'fiber.model.weights');
    assert.equal(err.kind, 'usage');
    assert.match(err.message, /missing: layers\.1\.blocks\.0\.mlp\.fc2\.weight(;|$)/, 'a buffer missing is fine, a backbone tensor is not');
    assert.match(err.message, /unexpected: layers\.9\.blocks\.0\.mystery/);
    assert.match(err.message, /shape mismatch: norm\.weight \(file \[3\], timm-swin at this size \[256\]\)/);
    return true;
  });
  for (const [name, w] of before) assert.equal(weights.get(name), w, `${name}: a failed import changes nothing`);
});

test('a RoBERTa file of another size is a shape error, not a silent partial load', () => {
  const file = stateDictFile(hfRobertaStateDictKeys({ ...TINY, textHidden: 32, textHeads: 2 }), 7);
  assert.throws(() => importPretrained(TINY, 'coarse', initParams(TINY, 'coarse', 0), 'hf-roberta', file), /shape mismatch: roberta\.embeddings\.word_embeddings\.weight/);
});
