import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initParams } from '../../src/model/init-params.js';
import { FINE_BIAS0_INIT } from '../../src/model/param-spec.js';
import { TINY } from './fixtures.js';

test('initParams is deterministic bit for bit per seed and differs across seeds', () => {
  const a = initParams(TINY, 'coarse', 5);
  const b = initParams(TINY, 'coarse', 5);
  const c = initParams(TINY, 'coarse', 6);
  for (const [name, data] of a) assert.deepEqual(Buffer.from(data.buffer), Buffer.from(b.get(name)!.buffer), name);
  const w = 'vit_model.layers.0.blocks.0.attn.qkv.weight';
  assert.notDeepEqual(Array.from(a.get(w)!), Array.from(c.get(w)!));
});

test('gates start at 0, temperature at 0.07, fine bias0 at the 0.01 prior, pad embedding rows at 0', () => {
  const p = initParams(TINY, 'coarse', 0);
  for (const [name, data] of p) if (/alpha_(i2t|t2i)$/.test(name)) assert.equal(data[0], 0, name);
  assert.equal(p.get('temp')![0], Math.fround(0.07));
  const words = p.get('text_transformer.embeddings.word_embeddings.weight')!;
  assert.ok(words.subarray(TINY.textHidden, 2 * TINY.textHidden).every((v) => v === 0));
  const weights = p.get('vit_model.layers.0.blocks.0.mlp.fc1.weight')!;
  const std = Math.sqrt(weights.reduce((s, v) => s + v * v, 0) / weights.length);
  assert.ok(std > 0.015 && std < 0.02, `truncated normal 0.02 has std ~0.0176, got ${std}`);
  assert.equal(initParams(TINY, 'fine', 0).get('head.bias0')![0], Math.fround(FINE_BIAS0_INIT));
});
