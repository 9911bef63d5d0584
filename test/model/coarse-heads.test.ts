import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { itcTemperature, mlmLogits } from '../../src/model/coarse-heads.js';

before(async () => {
  await selectBackend();
});

test('the MLM head LayerNorm uses eps 1e-12 (BertConfig default), so rows of tiny spread still come out standardised', () => {
  // Identity transform and decoder: the logits are the LayerNorm of gelu(x). With x ~ 1e-4 the
  // row variance is ~2.5e-9, which eps 1e-5 would swamp (std ~0.016) and eps 1e-12 does not.
  const hc = 16;
  const eye = tf.eye(hc);
  const params = new Map<string, tf.Tensor>([
    ['mlm_score.transform.dense.weight', eye], ['mlm_score.transform.dense.bias', tf.zeros([hc])],
    ['mlm_score.transform.LayerNorm.weight', tf.ones([hc])], ['mlm_score.transform.LayerNorm.bias', tf.zeros([hc])],
    ['mlm_score.decoder.weight', eye], ['mlm_score.bias', tf.zeros([hc])],
  ]);
  const x = tf.tensor3d(Float32Array.from({ length: hc }, (_, i) => 1e-4 * Math.sin(1 + 2.3 * i)), [1, 1, hc]); // [B=1, L=1, Hc]
  const logits = mlmLogits(params, x, Int32Array.of(0)).dataSync() as Float32Array; // [1, V=Hc]
  const mean = logits.reduce((a, b) => a + b, 0) / hc;
  const std = Math.sqrt(logits.reduce((a, b) => a + (b - mean) ** 2, 0) / hc);
  assert.ok(Math.abs(std - 1) < 1e-3, `standardised row, std ${std}`);
  tf.dispose([...params.values(), x]);
});

test('the ITC temperature is the stored parameter, not clamped in the graph (the parameter server clamps it)', () => {
  for (const v of [0.5, 1.25, 0.0005]) {
    const t = tf.scalar(v);
    assert.equal(itcTemperature(new Map([['temp', t]])).dataSync()[0], Math.fround(v));
    t.dispose();
  }
});
