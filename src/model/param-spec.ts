import type { FiberModelConfig } from './model-config.js';
import { modelLayout } from './fusion-layout.js';

/** Training stage: coarse (image-text: ITC/ITM/MLM heads) or fine (image-text-box: FPN + dense head). */
export type Stage = 'coarse' | 'fine';

/** LR-multiplier group of reference §2.3/§3.4: backbone x1, fusion and heads x5 (coarse). */
export type ParamGroup = 'backbone' | 'fusion' | 'head';

/** Component for `fiber model info` counts. */
export type ParamComponent = 'image_backbone' | 'text_backbone' | 'image_fusion' | 'text_fusion' | 'coarse_heads' | 'fine_head';

/**
 * How initParams fills a tensor. `normal` is a normal with the given std truncated at 2 std;
 * `uniform` is U(-bound, bound) (PyTorch's default Linear/Conv2d init and DCN's reset_parameters).
 */
export type ParamInit = { kind: 'normal'; std: number } | { kind: 'const'; value: number } | { kind: 'uniform'; bound: number };

/** One named parameter. Names follow the reference so checkpoints map by name (docs/model.md). */
export interface ParamSpec {
  /** e.g. `vit_model.layers.2.blocks.14.attn.qkv.weight`, `text_transformer.encoder.layer.6.attention.self.query.weight`. */
  readonly name: string;
  /** PyTorch layout: Linear [out, in], Conv2d [out, in, kh, kw], scalars []. */
  readonly shape: readonly number[];
  readonly group: ParamGroup;
  /** True for biases, norms, gates, temperature and head scalars: no weight decay. */
  readonly noDecay: boolean;
  readonly component: ParamComponent;
  /**
   * False for tensors that exist only so checkpoints keep the reference's names but that the
   * forward never reads (crossattention_t2i.output.LayerNorm, alpha_t2i of unfused layers):
   * they get no gradient and lossAndGrads leaves them out.
   */
  readonly trainable: boolean;
  readonly init: ParamInit;
  /**
   * [lo, hi] the stored value is held in: the parameter server clamps it after every update and
   * at the stage start, where the reference clamps in place before each forward (only `temp`).
   */
  readonly clamp?: readonly [number, number];
}

/**
 * What the parameter server reads of a ParamSpec (layout, AdamW groups, clamp): a view of the one
 * declaration above, so the PS and its tests need no model init rules. `trainable` defaults to true.
 */
export type ServerParamSpec = Pick<ParamSpec, 'name' | 'shape' | 'group' | 'noDecay' | 'clamp'> & Partial<Pick<ParamSpec, 'trainable'>>;

const N02: ParamInit = { kind: 'normal', std: 0.02 };
const N01: ParamInit = { kind: 'normal', std: 0.01 };
const ZERO: ParamInit = { kind: 'const', value: 0 };
const ONE: ParamInit = { kind: 'const', value: 1 };

export const IMAGE_PREFIX = 'vit_model.';
export const TEXT_PREFIX = 'text_transformer.';

/** Bounds of the ITC temperature (reference objectives.py compute_itc: temp.clamp_(0.001, 1.0)). */
export const ITC_TEMP_MIN = 0.001;
export const ITC_TEMP_MAX = 1;

/** Focal-loss prior 0.01 as a logit bias: -log((1 - 0.01) / 0.01) (reference §3.1). */
export const FINE_BIAS0_INIT = -Math.log((1 - 0.01) / 0.01);

class SpecBuilder {
  readonly specs: ParamSpec[] = [];
  constructor(private readonly component: ParamComponent, private readonly group: ParamGroup, private readonly prefix: string) {}
  add(name: string, shape: number[], init: ParamInit, opts: { noDecay?: boolean; trainable?: boolean; group?: ParamGroup; component?: ParamComponent; clamp?: [number, number] } = {}): void {
    this.specs.push({
      name: this.prefix + name, shape, init,
      group: opts.group ?? this.group,
      component: opts.component ?? this.component,
      noDecay: opts.noDecay ?? false,
      trainable: opts.trainable ?? true,
      ...(opts.clamp ? { clamp: opts.clamp } : {}),
    });
  }
  linear(name: string, out: number, inp: number, bias = true, init: ParamInit = N02, opts: { group?: ParamGroup; component?: ParamComponent; trainable?: boolean } = {}): void {
    this.add(`${name}.weight`, [out, inp], init, opts);
    if (bias) this.add(`${name}.bias`, [out], ZERO, { ...opts, noDecay: true });
  }
  norm(name: string, dim: number, opts: { group?: ParamGroup; component?: ParamComponent; trainable?: boolean } = {}): void {
    this.add(`${name}.weight`, [dim], ONE, { ...opts, noDecay: true });
    this.add(`${name}.bias`, [dim], ZERO, { ...opts, noDecay: true });
  }
  conv(name: string, out: number, inp: number, k: number, init: ParamInit = N01, biasInit: ParamInit = ZERO, opts: { trainable?: boolean } = {}): void {
    this.add(`${name}.weight`, [out, inp, k, k], init, opts);
    this.add(`${name}.bias`, [out], biasInit, { ...opts, noDecay: true });
  }
}

/**
 * The flat, ordered list of every parameter of the model for a stage: what the parameter server
 * allocates, what initParams fills, what safetensors files hold. Pure: no tensors are created,
 * so counting fiber-base costs nothing.
 *   coarse = Swin (+ final norm) + RoBERTa + fusion + ITC/ITM/MLM heads + temperature
 *   fine   = Swin (no final norm, reference §3.5) + RoBERTa + fusion + FPN + dense head
 */
export function paramSpecs(config: FiberModelConfig, stage: Stage): ParamSpec[] {
  return [...imageSpecs(config, stage), ...textSpecs(config), ...(stage === 'coarse' ? coarseHeadSpecs(config) : fineHeadSpecs(config))];
}

function imageSpecs(config: FiberModelConfig, stage: Stage): ParamSpec[] {
  const layout = modelLayout(config);
  const b = new SpecBuilder('image_backbone', 'backbone', IMAGE_PREFIX);
  const c0 = config.imageEmbedDim;
  b.add('patch_embed.proj.weight', [c0, 3, 4, 4], N02);
  b.add('patch_embed.proj.bias', [c0], ZERO, { noDecay: true });
  b.norm('patch_embed.norm', c0);
  const fused = new Set(layout.pairs.map((p) => `${p.stage}.${p.block}`));
  const fusionOpts = { group: 'fusion' as const, component: 'image_fusion' as const };
  for (let s = 0; s < 4; s++) {
    const dim = layout.stageDims[s]!;
    const heads = config.imageHeads[s]!;
    // Stage 4 at imageSize has one window covering the whole map; the table size follows the window.
    const win = Math.min(layout.window, layout.stageSides[s]!);
    for (let j = 0; j < config.imageDepths[s]!; j++) {
      const p = `layers.${s}.blocks.${j}.`;
      b.norm(`${p}norm1`, dim);
      b.add(`${p}attn.relative_position_bias_table`, [(2 * win - 1) ** 2, heads], N02);
      b.linear(`${p}attn.qkv`, 3 * dim, dim);
      b.linear(`${p}attn.proj`, dim, dim);
      if (fused.has(`${s}.${j}`)) {
        b.linear(`${p}attn.qkv_i2t`, dim, dim, true, N02, fusionOpts);
        b.linear(`${p}attn.qkv_text_i2t`, 2 * dim, config.textHidden, true, N02, fusionOpts);
        b.linear(`${p}attn.proj_i2t`, dim, dim, true, N02, fusionOpts);
        b.add(`${p}attn.alpha_i2t`, [1], ZERO, { ...fusionOpts, noDecay: true });
        b.norm(`${p}attn.norm_i2t_i`, dim, fusionOpts);
      }
      b.norm(`${p}norm2`, dim);
      b.linear(`${p}mlp.fc1`, config.mlpRatio * dim, dim);
      b.linear(`${p}mlp.fc2`, dim, config.mlpRatio * dim);
    }
    if (s < 3) {
      // timm's PatchMerging: LayerNorm(4C) then Linear(4C -> 2C, no bias).
      b.norm(`layers.${s}.downsample.norm`, 4 * dim);
      b.add(`layers.${s}.downsample.reduction.weight`, [2 * dim, 4 * dim], N02);
    }
  }
  if (stage === 'coarse') b.norm('norm', layout.stageDims[3]);
  return b.specs;
}

function textSpecs(config: FiberModelConfig): ParamSpec[] {
  const layout = modelLayout(config);
  const h = config.textHidden;
  const b = new SpecBuilder('text_backbone', 'backbone', TEXT_PREFIX);
  b.add('embeddings.word_embeddings.weight', [config.vocabSize, h], N02);
  b.add('embeddings.position_embeddings.weight', [config.maxPositions, h], N02);
  b.add('embeddings.token_type_embeddings.weight', [1, h], N02);
  b.norm('embeddings.LayerNorm', h);
  const fusedDim = new Map(layout.pairs.map((p) => [p.textLayer, p.imageDim]));
  const fusionOpts = { group: 'fusion' as const, component: 'text_fusion' as const };
  for (let l = 0; l < config.textLayers; l++) {
    const p = `encoder.layer.${l}.`;
    b.linear(`${p}attention.self.query`, h, h);
    b.linear(`${p}attention.self.key`, h, h);
    b.linear(`${p}attention.self.value`, h, h);
    b.linear(`${p}attention.output.dense`, h, h);
    b.norm(`${p}attention.output.LayerNorm`, h);
    const imageDim = fusedDim.get(l);
    if (imageDim !== undefined) {
      b.linear(`${p}crossattention_t2i.self.query`, h, h, true, N02, fusionOpts);
      b.linear(`${p}crossattention_t2i.self.key`, h, imageDim, true, N02, fusionOpts);
      b.linear(`${p}crossattention_t2i.self.value`, h, imageDim, true, N02, fusionOpts);
      b.linear(`${p}crossattention_t2i.output.dense`, h, h, true, N02, fusionOpts);
      // Present in the reference checkpoint, never used in its forward (§1.3).
      b.norm(`${p}crossattention_t2i.output.LayerNorm`, h, { ...fusionOpts, trainable: false });
    }
    b.linear(`${p}intermediate.dense`, config.textIntermediate, h);
    b.linear(`${p}output.dense`, h, config.textIntermediate);
    b.norm(`${p}output.LayerNorm`, h);
    // The reference creates alpha_t2i in every layer; only fused layers read it.
    b.add(`${p}alpha_t2i`, [1], ZERO, { ...fusionOpts, noDecay: true, trainable: imageDim !== undefined });
  }
  return b.specs;
}

/** FIBER's coarse heads (fiber_module.py): ITC and fusion transforms + poolers, ITM, MLM, temperature. */
function coarseHeadSpecs(config: FiberModelConfig): ParamSpec[] {
  const layout = modelLayout(config);
  const hc = config.crossHidden;
  const dImg = layout.stageDims[3];
  // "cross_modal*" names are in the reference's cross-modal LR group (x5): group 'fusion'.
  const b = new SpecBuilder('coarse_heads', 'fusion', '');
  for (const suffix of ['_itc', '']) {
    b.linear(`cross_modal_image_transform${suffix}`, hc, dImg);
    b.linear(`cross_modal_text_transform${suffix}`, hc, config.textHidden);
    b.linear(`cross_modal_image_pooler${suffix}.dense`, hc, hc);
    b.linear(`cross_modal_text_pooler${suffix}.dense`, hc, hc);
  }
  b.linear('itm_score.fc', 2, 2 * hc, true, N02, { group: 'head' });
  b.linear('mlm_score.transform.dense', hc, hc, true, N02, { group: 'head' });
  b.norm('mlm_score.transform.LayerNorm', hc, { group: 'head' });
  b.add('mlm_score.decoder.weight', [config.vocabSize, hc], N02, { group: 'head' });
  b.add('mlm_score.bias', [config.vocabSize], ZERO, { group: 'head', noDecay: true });
  // Learnable ITC temperature, lr x1 in the reference: group 'backbone'. No decay (deviation, §1.4d).
  // Held in [0.001, 1] as compute_itc's `temp.clamp_(0.001, 1.0)` holds it.
  b.add('temp', [], { kind: 'const', value: 0.07 }, { group: 'backbone', noDecay: true, clamp: [ITC_TEMP_MIN, ITC_TEMP_MAX] });
  return b.specs;
}

/** DyConv layers in the fine head's DyHead tower (the reference's DYHEAD.NUM_CONVS: 6). */
export function fineTowerDepth(config: FiberModelConfig): number {
  return config.fineTowerDepth ?? 6;
}

/** FPN levels P3-P7 on stage 2/3/4 outputs (strides 8/16/32) plus two stride-2 convs (64, 128). */
export const FPN_LEVELS = 5;

/** Classes of the reference's (frozen, loss x 0) cls_logits conv: DYHEAD.NUM_CLASSES - 1 = 80. */
export const FINE_CLS_LOGITS = 80;

/** PyTorch's default init bound for a Linear/Conv2d with this fan-in (kaiming_uniform a=sqrt(5)): 1/sqrt(fanIn). */
function torchDefault(fanIn: number): ParamInit {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}

/**
 * FPN + VLDyHead (vldyhead.py) with FIBER's pretrain flags: USE_GN, USE_DYRELU, USE_DFCONV,
 * USE_DYFUSE, no early fusion, USE_DOT_PRODUCT_TOKEN_LOSS. Inits as the reference: DyConv convs
 * keep DCN's reset_parameters (U(+-1/sqrt(9C)), bias 0: init_weights only touches nn.Conv2d),
 * AttnConv normal(0.01), offset conv and DyReLU's Linears PyTorch's default, head convs normal(0.01).
 */
function fineHeadSpecs(config: FiberModelConfig): ParamSpec[] {
  const layout = modelLayout(config);
  const f = config.fpnChannels;
  const b = new SpecBuilder('fine_head', 'head', '');
  // maskrcnn-benchmark FPN names: fpn_inner{i} (lateral 1x1) and fpn_layer{i} (3x3 output) for C3-C5.
  for (let i = 2; i <= 4; i++) {
    b.conv(`fpn.fpn_inner${i}`, f, layout.stageDims[i - 1]!, 1);
    b.conv(`fpn.fpn_layer${i}`, f, f, 3);
  }
  b.conv('fpn.top_blocks.p6', f, f, 3);
  b.conv('fpn.top_blocks.p7', f, f, 3);
  const fanIn3x3 = 9 * f;
  for (let t = 0; t < fineTowerDepth(config); t++) {
    const p = `head.dyhead_tower.${t}.`;
    for (let k = 0; k < 3; k++) {
      b.conv(`${p}DyConv.${k}.conv`, f, f, 3, { kind: 'uniform', bound: 1 / Math.sqrt(fanIn3x3) });
      b.norm(`${p}DyConv.${k}.bn`, f);
    }
    b.conv(`${p}AttnConv.1`, 1, f, 1);
    b.linear(`${p}relu.fc.0`, f / 4, f, true, torchDefault(f));
    // PyTorch's Linear draws its bias from the same bound as its weight.
    b.specs[b.specs.length - 1] = { ...b.specs[b.specs.length - 1]!, init: torchDefault(f) };
    b.linear(`${p}relu.fc.2`, 4 * f, f / 4, true, torchDefault(f / 4));
    b.specs[b.specs.length - 1] = { ...b.specs[b.specs.length - 1]!, init: torchDefault(f / 4) };
    b.conv(`${p}offset`, 27, f, 3, torchDefault(fanIn3x3), torchDefault(fanIn3x3));
  }
  // Present in the reference with its loss multiplied by 0: kept for checkpoint names only.
  b.conv('head.cls_logits', FINE_CLS_LOGITS, f, 1, N01, { kind: 'const', value: FINE_BIAS0_INIT }, { trainable: false });
  b.conv('head.bbox_pred', 4, f, 1);
  b.conv('head.centerness', 1, f, 1);
  for (let l = 0; l < FPN_LEVELS; l++) b.add(`head.scales.${l}.scale`, [1], { kind: 'const', value: 1 }, { noDecay: true });
  b.linear('head.dot_product_projection_text', f, config.textHidden);
  b.add('head.log_scale', [1], ZERO, { noDecay: true });
  b.add('head.bias_lang', [config.textHidden], ZERO, { noDecay: true });
  b.add('head.bias0', [1], { kind: 'const', value: FINE_BIAS0_INIT }, { noDecay: true });
  return b.specs;
}

/** Element count of a shape ([] is a scalar: 1). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parameter counts per component from the spec list, without allocating anything. */
export function countParams(specs: readonly ParamSpec[]): Record<ParamComponent, number> & { total: number } {
  const out = { image_backbone: 0, text_backbone: 0, image_fusion: 0, text_fusion: 0, coarse_heads: 0, fine_head: 0, total: 0 };
  for (const s of specs) {
    const n = numel(s.shape);
    out[s.component] += n;
    out.total += n;
  }
  return out;
}
