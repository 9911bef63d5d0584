import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { encode } from '../../src/model/fiber-encoder.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { forwardOutputs } from '../../src/model/forward-outputs.js';
import { initParams } from '../../src/model/init-params.js';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { DropoutContext } from '../../src/model/ops/nn.js';
import { makeCoarseBatch, TINY } from './fixtures.js';

before(async () => {
  await selectBackend();
});

const B = 2, L = 8, S = TINY.imageSize;
const batch = makeCoarseBatch(TINY, B, L, 3);
const inputs = () => ({
  pixelValues: tf.tensor4d(batch.pixelValues, [B, 3, S, S]),
  inputIds: tf.tensor2d(batch.inputIds, [B, L], 'int32'),
  attentionMask: tf.tensor2d(batch.attentionMask, [B, L], 'int32'),
});

test('forward outputs have the documented names and shapes in each mode', () => {
  const model = FiberModel.init(TINY, 'coarse', 0);
  const n = (S / 32) ** 2, d = 8 * TINY.imageEmbedDim, hc = TINY.crossHidden;
  const expected = {
    image: { image_embeds: [B, n, d], itc_image: [B, hc] },
    text: { text_embeds: [B, L, TINY.textHidden], itc_text: [B, hc] },
    fusion: { image_embeds: [B, n, d], text_embeds: [B, L, TINY.textHidden], itm_logits: [B, 2], mlm_logits: [B, L, TINY.vocabSize] },
  } as const;
  for (const mode of ['image', 'text', 'fusion'] as const) {
    const out = forwardOutputs(TINY, model.params, inputs(), mode);
    assert.deepEqual(Object.fromEntries([...out].map(([k, t]) => [k, t.shape])), expected[mode], mode);
    for (const t of out.values()) assert.ok(Array.from(t.dataSync()).every(Number.isFinite), mode);
    tf.dispose([...out.values()]);
  }
  model.dispose();
});

test('with both gates at 0 the fusion features equal the uni-modal ones exactly; with gates open they differ', () => {
  const weights = initParams(TINY, 'coarse', 1);
  const run = (w: Map<string, Float32Array>) => {
    const model = new FiberModel(TINY, 'coarse', w);
    const drop = new DropoutContext(false, 0);
    const fused = encode(TINY, model.params, inputs(), 'fusion', drop);
    const img = encode(TINY, model.params, inputs(), 'image', drop);
    const txt = encode(TINY, model.params, inputs(), 'text', drop);
    const r = {
      fusedImage: fused.imageTokens!.dataSync(), image: img.imageTokens!.dataSync(),
      fusedText: fused.textTokens!.dataSync(), text: txt.textTokens!.dataSync(),
    };
    model.dispose();
    return r;
  };
  const closed = run(weights);
  assert.deepEqual(Buffer.from(closed.fusedImage.buffer), Buffer.from(closed.image.buffer), 'image tokens bit-identical');
  assert.deepEqual(Buffer.from(closed.fusedText.buffer), Buffer.from(closed.text.buffer), 'text tokens bit-identical');
  for (const [name, data] of weights) if (/alpha_(i2t|t2i)$/.test(name)) data[0] = 0.5;
  const open = run(weights);
  assert.notDeepEqual(Array.from(open.fusedImage), Array.from(open.image));
  assert.notDeepEqual(Array.from(open.fusedText), Array.from(open.text));
});

test('fiber-base topology at narrow width (384 px, window 12, 18 stage-3 blocks, K = 6): shapes and gate-0 equivalence', () => {
  const narrow = {
    ...MODEL_PRESETS['fiber-base'],
    imageEmbedDim: 8, imageHeads: [1, 1, 2, 2] as const, textHidden: 16, textHeads: 2, textIntermediate: 32,
    vocabSize: 100, crossHidden: 16, fpnChannels: 8, dropout: 0, dropPath: 0,
  };
  const model = FiberModel.init(narrow, 'coarse', 0);
  const drop = new DropoutContext(false, 0);
  const s = 384, l = 5;
  const feed = () => ({
    pixelValues: tf.randomNormal([1, 3, s, s], 0, 1, 'float32', 9),
    inputIds: tf.tensor2d([[0, 10, 11, 2, 1]], [1, l], 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 0]], [1, l], 'int32'),
  });
  const fused = encode(narrow, model.params, feed(), 'fusion', drop);
  const image = encode(narrow, model.params, feed(), 'image', drop);
  const text = encode(narrow, model.params, feed(), 'text', drop);
  assert.deepEqual(fused.imageTokens!.shape, [1, 144, 64], '12 x 12 stage-4 tokens of 8C');
  assert.deepEqual(fused.stageMaps!.map((m) => m.shape), [[1, 48, 48, 16], [1, 24, 24, 32], [1, 12, 12, 64]]);
  assert.deepEqual(Array.from(fused.imageTokens!.dataSync()), Array.from(image.imageTokens!.dataSync()));
  assert.deepEqual(Array.from(fused.textTokens!.dataSync()), Array.from(text.textTokens!.dataSync()));
  model.dispose();
});
