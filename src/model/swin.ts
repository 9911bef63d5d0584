import * as tf from '@tensorflow/tfjs';
import type { FiberModelConfig } from './model-config.js';
import type { ModelLayout } from './fusion-layout.js';
import { attention } from './ops/attention.js';
import { blockCall, recomputed } from './ops/block-call.js';
import { concatKeepingNothing } from './ops/concat-keeping-nothing.js';
import { gatherRows } from './ops/gather-rows.js';
import { linear } from './ops/matmul.js';
import { dropPath, gelu, layerNorm, type DropoutContext } from './ops/nn.js';
import { scopedLookup } from './params.js';
import { relativePositionIndex, roll2d, shiftedWindowMask, windowPartition, windowReverse } from './swin-windows.js';

/*
 * Swin image backbone (timm SwinTransformer, reference §1.1) with FIBER's image-side fusion
 * (§1.3). Letters: B batch, H/W token grid, C channels, L text length, T text width.
 * Parameter names are timm's, read through `p` (already scoped to `vit_model.`).
 */

const LN_EPS = 1e-5;

/**
 * How a block windows its token map.
 *   fit: timm's classification Swin (the coarse stage, square inputs): a map no larger than the
 *        window is one unshifted window; maps are multiples of the window.
 *   pad: the detection Swin of the reference's fine stage (fusion_swin_transformer_v2.py): the
 *        window stays fixed, the map is zero-padded on the bottom and right to a multiple of it
 *        after norm1 (and cropped after the attention), and odd blocks always shift, with the
 *        shifted-window mask over the padded map. Any H x W.
 */
export type SwinWindows = 'fit' | 'pad';

export interface SwinContext {
  readonly config: FiberModelConfig;
  readonly layout: ModelLayout;
  readonly windows: SwinWindows;
  readonly p: (name: string) => tf.Tensor;
  readonly drop: DropoutContext;
}

/** Text the image queries attend to in a fused block: raw RoBERTa hidden states and key mask. */
export interface TextMemory {
  readonly tokens: tf.Tensor; // [B, L, T]
  readonly maskBias: tf.Tensor; // [B, 1, 1, L], 0 keep / -10000 pad (HF extended mask)
}

/**
 * 4x4 stride-4 patch embedding as patchify + matmul (equal to the conv; the conv's weight
 * gradient kernel is missing on wasm, tfjs-notes §2), then patch_embed.norm.
 * pixels [B, 3, S, S] -> [B, S/4, S/4, C].
 */
export function patchEmbed(ctx: SwinContext, pixels: tf.Tensor): tf.Tensor {
  const [b, ch, h, w] = pixels.shape as [number, number, number, number];
  const c = ctx.config.imageEmbedDim;
  // [B, 3, H/4, 4, W/4, 4] -> [B, H/4, W/4, 3, 4, 4]: (channel, kh, kw) order matches the conv weight.
  const patches = tf.transpose(pixels.reshape([b, ch, h / 4, 4, w / 4, 4]), [0, 2, 4, 1, 3, 5]).reshape([b, h / 4, w / 4, ch * 16]);
  const x = linear(patches, ctx.p('patch_embed.proj.weight').reshape([c, ch * 16]), ctx.p('patch_embed.proj.bias'));
  return layerNorm(x, ctx.p('patch_embed.norm.weight'), ctx.p('patch_embed.norm.bias'), LN_EPS);
}

/** Stochastic-depth rate of each block: linear 0..dropPath over all blocks (timm). */
function blockDropPath(config: FiberModelConfig, stage: number, block: number): number {
  const total = config.imageDepths.reduce((a, b) => a + b, 0);
  const index = config.imageDepths.slice(0, stage).reduce((a, b) => a + b, 0) + block;
  return total > 1 ? (config.dropPath * index) / (total - 1) : 0;
}

const BLOCK_PARAMS = [
  'norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.relative_position_bias_table',
  'attn.proj.weight', 'attn.proj.bias', 'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias',
];
const FUSION_PARAMS = [
  'attn.norm_i2t_i.weight', 'attn.norm_i2t_i.bias', 'attn.qkv_i2t.weight', 'attn.qkv_i2t.bias',
  'attn.qkv_text_i2t.weight', 'attn.qkv_text_i2t.bias', 'attn.proj_i2t.weight', 'attn.proj_i2t.bias', 'attn.alpha_i2t',
];

/** Every parameter one Swin block reads (names under `vit_model.`); a fused block adds FIBER's i2t ones. */
export function swinBlockParamNames(stage: number, block: number, fused: boolean): string[] {
  return [...BLOCK_PARAMS, ...(fused ? FUSION_PARAMS : [])].map((n) => `layers.${stage}.blocks.${block}.${n}`);
}

/**
 * One Swin block as a unit of activation recomputation (`model.recompute`, ops/block-call.ts):
 * the text it attends to is an input of the block, its key mask a constant.
 */
export function swinBlock(ctx: SwinContext, x: tf.Tensor, stage: number, block: number, text?: TextMemory): tf.Tensor {
  const names = swinBlockParamNames(stage, block, text !== undefined);
  return blockCall(ctx.config.recompute ?? 'none', ctx.drop, {
    activations: text ? [x, text.tokens] : [x],
    params: names.map(ctx.p),
    constants: text ? [text.maskBias] : [],
  }, ([xs, tokens], params, [maskBias], drop) =>
    swinBlockBody({ ...ctx, p: scopedLookup(names, params), drop }, xs!, stage, block, text ? { tokens: tokens!, maskBias: maskBias! } : undefined));
}

/**
 * One Swin block, optionally fused with text. x [B, H, W, C] -> [B, H, W, C].
 *   s  = Proj(W-MSA(LN1(x)))                       (shifted on odd blocks, relative position bias)
 *   c  = Proj_i2t(Attn(Q = W_q LN_i2t(s), K/V = W_kv T))   only when `text` is given
 *   x' = x + DropPath(s + alpha_i2t * c)
 *   x''= x' + DropPath(MLP(LN2(x')))
 * The reference runs the cross-attention per window with the text repeated per window; each
 * query attends to the whole text either way, so it is computed once per image here.
 */
function swinBlockBody(ctx: SwinContext, x: tf.Tensor, stage: number, block: number, text?: TextMemory): tf.Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const pre = `layers.${stage}.blocks.${block}.`;
  const p = (n: string) => ctx.p(pre + n);
  const heads = ctx.config.imageHeads[stage]!;
  const pad = ctx.windows === 'pad';
  // timm ('fit'): a map no larger than the window is one unshifted window.
  const win = pad ? ctx.layout.window : Math.min(ctx.layout.window, h, w);
  const shift = block % 2 === 1 && (pad || Math.min(h, w) > ctx.layout.window) ? Math.floor(win / 2) : 0;
  const hp = Math.ceil(h / win) * win, wp = Math.ceil(w / win) * win; // padded grid
  const n = win * win;
  const nW = (hp / win) * (wp / win);

  // Each half of the block in a tidy of its own: what the backward pass does not keep is freed
  // before the next half runs (fiber-base's 800 x 1088 stage-1 block held 2.7 GB otherwise).
  let s = tf.tidy(() => {
    let hx = layerNorm(x, p('norm1.weight'), p('norm1.bias'), LN_EPS);
    if (hp !== h || wp !== w) hx = tf.pad(hx, [[0, 0], [0, hp - h], [0, wp - w], [0, 0]]);
    if (shift) hx = roll2d(hx, -shift);
    const windows = windowPartition(hx, win); // [B*nW, N, C]
    const qkv = linear(windows, p('attn.qkv.weight'), p('attn.qkv.bias')); // [B*nW, N, 3C]
    const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const table = p('attn.relative_position_bias_table'); // [(2w-1)^2, heads]
    const index = tf.tensor1d(relativePositionIndex(win), 'int32');
    const bias = tf.transpose(gatherRows(table, index).reshape([n, n, heads]), [2, 0, 1]).expandDims(0); // [1, heads, N, N]
    // The shift mask is tiled per window; bias + mask ([B*nW, heads, N, N]) is formed inside the
    // recomputed node, so neither it nor the scores outlive the node.
    const shiftMask = shift ? tf.tile(tf.tensor(shiftedWindowMask(hp, wp, win, shift), [1, nW, 1, n, n]), [b, 1, 1, 1, 1]).reshape([b * nW, 1, n, n]) : undefined;
    const attn = windowAttention(q, k, v, bias, shiftMask, heads, ctx.drop); // [B*nW, N, C]
    let out = linear(attn, p('attn.proj.weight'), p('attn.proj.bias'));
    out = windowReverse(out, win, hp, wp);
    if (shift) out = roll2d(out, shift); // [B, Hp, Wp, C]
    if (hp !== h || wp !== w) out = tf.slice(out, [0, 0, 0, 0], [b, h, w, c]); // [B, H, W, C]
    return out;
  });

  if (text) {
    const flat = s.reshape([b, h * w, c]);
    const qi = linear(layerNorm(flat, p('attn.norm_i2t_i.weight'), p('attn.norm_i2t_i.bias'), LN_EPS), p('attn.qkv_i2t.weight'), p('attn.qkv_i2t.bias')); // [B, HW, C]
    const kv = linear(text.tokens, p('attn.qkv_text_i2t.weight'), p('attn.qkv_text_i2t.bias')); // [B, L, 2C]
    const [kt, vt] = tf.split(kv, 2, 2) as [tf.Tensor, tf.Tensor];
    const cross = attention(qi, kt, vt, heads, text.maskBias, 0, ctx.drop); // [B, HW, C]
    const ci = linear(cross, p('attn.proj_i2t.weight'), p('attn.proj_i2t.bias')).reshape([b, h, w, c]);
    s = tf.add(s, tf.mul(p('attn.alpha_i2t'), ci));
  }
  const rate = blockDropPath(ctx.config, stage, block);
  const x1 = tf.add(x, dropPath(s, rate, ctx.drop));
  const mlp = tf.tidy(() => {
    const hid = gelu(linear(layerNorm(x1, p('norm2.weight'), p('norm2.bias'), LN_EPS), p('mlp.fc1.weight'), p('mlp.fc1.bias')));
    return linear(hid, p('mlp.fc2.weight'), p('mlp.fc2.bias'));
  });
  return tf.add(x1, dropPath(mlp, rate, ctx.drop));
}

/**
 * Scores of at most this many bytes are computed in one recomputed node, and the windows split
 * into nodes of about ATTENTION_CHUNK_BYTES above it. Every map of fiber-tiny and fiber-small,
 * and fiber-base's 384 px maps (21 MB), stay in one node; fiber-base's 800 x 1088 stage-1 map
 * (391 windows, 130 MB of scores per temporary) is split. Splitting sums the relative position
 * bias gradient per chunk, which rounds differently: bits change only where chunking applies.
 */
const ATTENTION_NODE_BYTES = 64 * 2 ** 20;
const ATTENTION_CHUNK_BYTES = 32 * 2 ** 20;

/**
 * Window self-attention as recomputed nodes (ops/block-call.ts `recomputed`): the backward pass
 * keeps q, k, v, never the [windows, heads, N, N] scores and probabilities.
 * q, k, v [B*nW, N, C]; relBias [1, heads, N, N]; shiftMask [B*nW, 1, N, N] (constant) or
 * undefined -> [B*nW, N, C].
 */
export function windowAttention(
  q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, relBias: tf.Tensor, shiftMask: tf.Tensor | undefined, heads: number, drop: DropoutContext,
  budget = { nodeBytes: ATTENTION_NODE_BYTES, chunkBytes: ATTENTION_CHUNK_BYTES },
): tf.Tensor {
  const core = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, rb: tf.Tensor, mask?: tf.Tensor) => attention(qq, kk, vv, heads, mask ? tf.add(rb, mask) : rb, 0, drop);
  const [windows, n] = q.shape as [number, number, number];
  const scoreBytes = 4 * windows * heads * n * n;
  const masks = shiftMask ? [shiftMask] : [];
  if (scoreBytes <= budget.nodeBytes) return recomputed(core, [q, k, v, relBias], masks);
  const parts = Math.min(windows, Math.ceil(scoreBytes / budget.chunkBytes));
  const sizes = Array.from({ length: parts }, (_, i) => Math.floor((windows * (i + 1)) / parts) - Math.floor((windows * i) / parts));
  const [qs, ks, vs] = [q, k, v].map((t) => tf.split(t, sizes, 0));
  const ms = shiftMask ? tf.split(shiftMask, sizes, 0) : undefined;
  return concatKeepingNothing(sizes.map((_, i) => recomputed(core, [qs![i]!, ks![i]!, vs![i]!, relBias], ms ? [ms[i]!] : [])), 0);
}

/** timm PatchMerging: 2x2 neighbours concatenated (x0, x1, x2, x3 order), LN, Linear(4C -> 2C). */
export function patchMerging(ctx: SwinContext, x: tf.Tensor, stage: number): tf.Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  // [B, H/2, 2(dh), W/2, 2(dw), C] -> [B, H/2, W/2, dw, dh, C]: x0=(0,0) x1=(dh1,dw0) x2=(dh0,dw1) x3=(1,1).
  const merged = tf.transpose(x.reshape([b, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 4, 2, 5]).reshape([b, h / 2, w / 2, 4 * c]);
  const pre = `layers.${stage}.downsample.`;
  const normed = layerNorm(merged, ctx.p(`${pre}norm.weight`), ctx.p(`${pre}norm.bias`), LN_EPS);
  return linear(normed, ctx.p(`${pre}reduction.weight`));
}

/** Final Swin LayerNorm (`vit_model.norm`) on [B, N, C]. */
export function swinFinalNorm(ctx: SwinContext, tokens: tf.Tensor): tf.Tensor {
  return layerNorm(tokens, ctx.p('norm.weight'), ctx.p('norm.bias'), LN_EPS);
}
