import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { IMAGE_PREFIX, paramSpecs } from '../../src/model/param-spec.js';
import { timmSwinStateDictKeys, timmToReferenceName } from '../../src/model/timm-swin-keys.js';

const BASE = MODEL_PRESETS['fiber-base'];
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

test('swin_base_patch4_window12_384_in22k as timm 0.4.12 saves it: 364 tensors, buffers and the 21841-class head included', () => {
  const keys = timmSwinStateDictKeys(BASE);
  const byName = new Map(keys.map((k) => [k.name, k]));
  // 24 blocks x 14 tensors, attn_mask in the 11 shifted blocks (1 + 1 + 9; stage 4's 12x12 map is one window, no shift),
  // patch_embed 4, three PatchMerging x 3, final norm 2, head 2.
  assert.equal(keys.length, 24 * 14 + 11 + 4 + 9 + 2 + 2);
  assert.equal(keys.filter((k) => k.name.endsWith('attn_mask')).length, 11);
  assert.deepEqual(byName.get('layers.0.blocks.1.attn_mask')?.shape, [64, 144, 144], '96x96 map, 12x12 windows');
  assert.deepEqual(byName.get('layers.2.blocks.17.attn_mask')?.shape, [4, 144, 144]);
  assert.equal(byName.get('layers.3.blocks.1.attn_mask'), undefined);
  assert.deepEqual(byName.get('layers.3.blocks.0.attn.relative_position_index'), { name: 'layers.3.blocks.0.attn.relative_position_index', shape: [144, 144], dtype: 'I64', ignore: byName.get('layers.3.blocks.0.attn.relative_position_index')!.ignore });
  assert.deepEqual(byName.get('layers.2.blocks.0.attn.relative_position_bias_table')?.shape, [529, 16], '23x23 table, 16 heads');
  assert.deepEqual(byName.get('layers.0.downsample.reduction.weight')?.shape, [256, 512]);
  assert.deepEqual(byName.get('head.weight')?.shape, [21841, 1024]);
  assert.ok(byName.get('head.weight')!.ignore);
  const backbone = keys.filter((k) => !k.ignore).reduce((n, k) => n + count(k.shape), 0);
  assert.ok(Math.abs(backbone - 86.88e6) < 0.005e6, `Swin-B backbone ${backbone} (reference §1.6: 86.88M)`);
});

test('timm >= 0.9 layout: PatchMerging opens the next stage, no persistent buffers, head.fc', () => {
  const keys = timmSwinStateDictKeys(BASE, { layout: 'timm-0.9', numClasses: 1000 });
  const names = new Set(keys.map((k) => k.name));
  assert.ok(names.has('layers.1.downsample.reduction.weight') && !names.has('layers.0.downsample.reduction.weight') && names.has('layers.3.downsample.norm.weight'));
  assert.ok(![...names].some((n) => n.endsWith('relative_position_index') || n.endsWith('attn_mask')));
  assert.deepEqual(keys.find((k) => k.name === 'head.fc.weight')?.shape, [1000, 1024]);
  assert.equal(timmToReferenceName('layers.1.downsample.reduction.weight', 'timm-0.9'), 'layers.0.downsample.reduction.weight');
});

for (const preset of ['fiber-tiny', 'fiber-small', 'fiber-base'] as const) {
  test(`${preset}: the backbone tensors of both timm layouts are fiber's coarse image backbone minus fusion, name for name and shape for shape`, () => {
    const cfg = MODEL_PRESETS[preset];
    const fiber = paramSpecs(cfg, 'coarse').filter((s) => s.component === 'image_backbone').map((s) => `${s.name} [${s.shape.join(',')}]`).sort();
    for (const layout of ['timm-0.4', 'timm-0.9'] as const) {
      const timm = timmSwinStateDictKeys(cfg, { layout }).filter((k) => !k.ignore).map((k) => `${IMAGE_PREFIX}${timmToReferenceName(k.name, layout)} [${k.shape.join(',')}]`).sort();
      assert.deepEqual(timm, fiber, layout);
    }
  });
}
