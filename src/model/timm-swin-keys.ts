import { modelLayout } from './fusion-layout.js';
import type { FiberModelConfig } from './model-config.js';
import type { StateDictKey } from './state-dict-key.js';

/**
 * timm's two Swin state-dict layouts:
 *   timm-0.4  (0.4.12, what FIBER pins): PatchMerging ends stage i as `layers.i.downsample`,
 *             `relative_position_index` in every block and `attn_mask` in shifted blocks are
 *             persistent buffers, the classifier is `head`.
 *   timm-0.9  (0.9 and later): PatchMerging starts stage i+1 as `layers.{i+1}.downsample`, both
 *             buffers are non-persistent (absent), the classifier is `head.fc`.
 */
export type TimmSwinLayout = 'timm-0.4' | 'timm-0.9';
export const TIMM_SWIN_LAYOUTS: readonly TimmSwinLayout[] = ['timm-0.4', 'timm-0.9'];

export interface TimmSwinKeyOptions {
  readonly layout?: TimmSwinLayout;
  /** Classifier width: 21841 for the `_in22k` weights FIBER starts from, 1000 for in1k, 0 for none. */
  readonly numClasses?: number;
}

const INDEX_BUFFER = 'buffer: relative-position index, recomputed from the window size';
const MASK_BUFFER = 'buffer: shifted-window attention mask, recomputed from the window size';
const CLASSIFIER = 'ImageNet classifier head: FIBER builds its Swin without one';

/**
 * Every tensor of timm's SwinTransformer state_dict at fiber's sizes (img_size = imageSize,
 * window = imageSize / 32), in state_dict order (a module's own tensors before its children's).
 * swin_base_patch4_window12_384_in22k is fiber-base's image side: embed 128, depths 2-2-18-2,
 * 384 px, window 12. As in timm, a stage whose map is no larger than the window takes the map
 * side as its window and does not shift (stage 4 at 384 has no attn_mask).
 */
export function timmSwinStateDictKeys(config: FiberModelConfig, opts: TimmSwinKeyOptions = {}): StateDictKey[] {
  const layout = modelLayout(config);
  const newLayout = (opts.layout ?? 'timm-0.4') === 'timm-0.9';
  const numClasses = opts.numClasses ?? 21841;
  const keys: StateDictKey[] = [];
  const f32 = (name: string, shape: number[], ignore?: string) => keys.push({ name, shape, dtype: 'F32', ...(ignore ? { ignore } : {}) });
  const linear = (name: string, out: number, inp: number, ignore?: string) => {
    f32(`${name}.weight`, [out, inp], ignore);
    f32(`${name}.bias`, [out], ignore);
  };
  const norm = (name: string, dim: number) => {
    f32(`${name}.weight`, [dim]);
    f32(`${name}.bias`, [dim]);
  };
  // PatchMerging: Linear(4C -> 2C, no bias) and LayerNorm(4C), declared in that order in 0.4.12, reversed since.
  const merging = (prefix: string, dim: number) => {
    if (newLayout) norm(`${prefix}.norm`, 4 * dim);
    f32(`${prefix}.reduction.weight`, [2 * dim, 4 * dim]);
    if (!newLayout) norm(`${prefix}.norm`, 4 * dim);
  };
  const c0 = config.imageEmbedDim;
  f32('patch_embed.proj.weight', [c0, 3, 4, 4]);
  f32('patch_embed.proj.bias', [c0]);
  norm('patch_embed.norm', c0);
  for (let s = 0; s < 4; s++) {
    const dim = layout.stageDims[s]!;
    const side = layout.stageSides[s]!;
    const win = Math.min(layout.window, side);
    const shifts = side > layout.window;
    if (newLayout && s > 0) merging(`layers.${s}.downsample`, layout.stageDims[s - 1]!);
    for (let j = 0; j < config.imageDepths[s]!; j++) {
      const p = `layers.${s}.blocks.${j}`;
      if (!newLayout && shifts && j % 2 === 1) f32(`${p}.attn_mask`, [(side / win) ** 2, win * win, win * win], MASK_BUFFER);
      norm(`${p}.norm1`, dim);
      f32(`${p}.attn.relative_position_bias_table`, [(2 * win - 1) ** 2, config.imageHeads[s]!]);
      if (!newLayout) keys.push({ name: `${p}.attn.relative_position_index`, shape: [win * win, win * win], dtype: 'I64', ignore: INDEX_BUFFER });
      linear(`${p}.attn.qkv`, 3 * dim, dim);
      linear(`${p}.attn.proj`, dim, dim);
      norm(`${p}.norm2`, dim);
      linear(`${p}.mlp.fc1`, config.mlpRatio * dim, dim);
      linear(`${p}.mlp.fc2`, dim, config.mlpRatio * dim);
    }
    if (!newLayout && s < 3) merging(`layers.${s}.downsample`, dim);
  }
  norm('norm', layout.stageDims[3]);
  if (numClasses > 0) linear(newLayout ? 'head.fc' : 'head', numClasses, layout.stageDims[3], CLASSIFIER);
  return keys;
}

/** The reference's (= fiber's = timm 0.4's) name of a timm Swin tensor, before the `vit_model.` prefix. */
export function timmToReferenceName(name: string, layout: TimmSwinLayout): string {
  return layout === 'timm-0.9' ? name.replace(/^layers\.(\d+)\.downsample\./, (_m, i: string) => `layers.${Number(i) - 1}.downsample.`) : name;
}
