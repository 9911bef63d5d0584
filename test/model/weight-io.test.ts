import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FiberError } from '../../src/errors/index.js';
import { initParams } from '../../src/model/init-params.js';
import { paramSpecs } from '../../src/model/param-spec.js';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { exportWeights, importWeights } from '../../src/model/weight-io.js';
import { TINY } from './fixtures.js';

const specs = paramSpecs(TINY, 'coarse');

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test('export then import under the reference names is exact, through a safetensors file', () => {
  const src = initParams(TINY, 'coarse', 1);
  const file = readSafetensors(writeSafetensors(exportWeights(specs, src))).tensors;
  assert.ok(file.has('vit_model.layers.2.blocks.2.attn.qkv_i2t.weight') && file.has('text_transformer.encoder.layer.0.crossattention_t2i.self.query.weight'));
  assert.deepEqual(file.get('vit_model.patch_embed.proj.weight')!.shape, [TINY.imageEmbedDim, 3, 4, 4], 'conv in PyTorch [out, in, kh, kw]');
  assert.deepEqual(file.get('text_transformer.encoder.layer.0.intermediate.dense.weight')!.shape, [TINY.textIntermediate, TINY.textHidden], 'linear in PyTorch [out, in]');
  const dst = initParams(TINY, 'coarse', 2);
  const report = importWeights(specs, dst, file);
  assert.equal(report.loaded.length, specs.length);
  for (const [name, data] of src) assert.ok(sameBits(dst.get(name)!, data), name);
});

test('a fiber file with a missing, an extra and a mis-shaped tensor fails, each named', () => {
  const file = readSafetensors(writeSafetensors(exportWeights(specs, initParams(TINY, 'coarse', 1)))).tensors;
  file.delete('temp');
  file.set('rank_output.weight', { dtype: 'F32', shape: [1, 128], data: new Float32Array(128) });
  file.set('vit_model.norm.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
  assert.throws(() => importWeights(specs, new Map(), file), (err: unknown) => {
    assert.ok(err instanceof FiberError);
    assert.equal(err.code, 'fiber.model.weights');
    assert.match(err.message, /missing: temp; unexpected: rank_output\.weight; shape mismatch: vit_model\.norm\.weight \(file \[3\], model \[256\]\)/);
    return true;
  });
});
