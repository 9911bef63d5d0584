import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FiberError } from '../../src/errors/index.js';
import { initParams } from '../../src/model/init-params.js';
import { IMAGE_PREFIX, paramSpecs, TEXT_PREFIX } from '../../src/model/param-spec.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/model/safetensors.js';
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
  const report = importWeights(specs, dst, 'fiber', file);
  assert.equal(report.loaded.length, specs.length);
  for (const [name, data] of src) assert.ok(sameBits(dst.get(name)!, data), name);
});

/** A timm Swin state dict in timm's own names, written by the test: backbone + buffers + classifier. */
function timmFile(src: Map<string, Float32Array>, newLayout: boolean): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const s of specs) {
    if (s.component !== 'image_backbone') continue;
    let name = s.name.slice(IMAGE_PREFIX.length);
    if (newLayout) name = name.replace(/^layers\.(\d)\.downsample\./, (_m, i: string) => `layers.${Number(i) + 1}.downsample.`);
    out.set(name, { dtype: 'F32', shape: s.shape, data: src.get(s.name)! });
  }
  out.set('layers.0.blocks.0.attn.relative_position_index', { dtype: 'I64', shape: [16, 16], data: new BigInt64Array(256) });
  out.set('head.weight', { dtype: 'F32', shape: [10, 8 * TINY.imageEmbedDim], data: new Float32Array(80 * TINY.imageEmbedDim) });
  out.set('head.bias', { dtype: 'F32', shape: [10], data: new Float32Array(10) });
  return out;
}

/** A HF roberta-base style file: `roberta.` prefix, pooler, position_ids buffer. */
function hfFile(src: Map<string, Float32Array>): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const s of specs) {
    if (s.component !== 'text_backbone') continue;
    out.set(`roberta.${s.name.slice(TEXT_PREFIX.length)}`, { dtype: 'F32', shape: s.shape, data: src.get(s.name)! });
  }
  out.set('roberta.pooler.dense.weight', { dtype: 'F32', shape: [TINY.textHidden, TINY.textHidden], data: new Float32Array(TINY.textHidden ** 2) });
  out.set('roberta.embeddings.position_ids', { dtype: 'I64', shape: [1, TINY.maxPositions], data: new BigInt64Array(TINY.maxPositions) });
  return out;
}

for (const newLayout of [false, true]) {
  test(`a timm Swin file (${newLayout ? 'timm >= 0.9 downsample layout' : 'classic layout'}) and a HF RoBERTa file load into the backbones by name`, () => {
    const pretrained = initParams(TINY, 'coarse', 7);
    const fresh = initParams(TINY, 'coarse', 8);
    const timm = readSafetensors(writeSafetensors(timmFile(pretrained, newLayout))).tensors;
    const hf = readSafetensors(writeSafetensors(hfFile(pretrained))).tensors;
    const r1 = importWeights(specs, fresh, 'timm-swin', timm);
    const r2 = importWeights(specs, fresh, 'hf-roberta', hf);
    assert.deepEqual(r1.ignored.sort(), ['head.bias', 'head.weight', 'layers.0.blocks.0.attn.relative_position_index']);
    assert.deepEqual(r2.ignored.sort(), ['roberta.embeddings.position_ids', 'roberta.pooler.dense.weight']);
    for (const s of specs) {
      const loaded = s.component === 'image_backbone' || s.component === 'text_backbone';
      if (loaded) assert.ok(sameBits(fresh.get(s.name)!, pretrained.get(s.name)!), `${s.name} carries the file's bits`);
      else if (s.init.kind === 'normal') assert.ok(!sameBits(fresh.get(s.name)!, pretrained.get(s.name)!), `${s.name} keeps its own init`);
    }
    // fusion weights keep their fresh init (gates at 0) while the backbones carry the pretrained bits
    assert.equal(fresh.get('vit_model.layers.2.blocks.2.attn.alpha_i2t')![0], 0);
  });
}

test('missing, unexpected and mis-shaped names are each reported by name', () => {
  const pretrained = initParams(TINY, 'coarse', 7);
  const file = timmFile(pretrained, false);
  file.delete('layers.1.blocks.0.mlp.fc2.weight');
  file.set('layers.9.blocks.0.mystery', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  file.set('norm.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
  assert.throws(() => importWeights(specs, initParams(TINY, 'coarse', 0), 'timm-swin', file), (err: unknown) => {
    assert.ok(err instanceof FiberError);
    assert.equal(err.code, 'fiber.model.weights');
    assert.match(err.message, /missing: vit_model\.layers\.1\.blocks\.0\.mlp\.fc2\.weight/);
    assert.match(err.message, /unexpected: vit_model\.layers\.9\.blocks\.0\.mystery/);
    assert.match(err.message, /shape mismatch: vit_model\.norm\.weight \(file \[3\], model \[256\]\)/);
    return true;
  });
});
