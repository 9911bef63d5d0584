#!/usr/bin/env python3
"""The FIBER coarse training step (loss + gradients, no optimizer) in PyTorch: bench/model's baseline.

Written for this repository from docs/model.md and src/model (not copied from microsoft/FIBER). It is
the same computation as fiber's `lossAndGrads` on a coarse batch, so the two times compare the
backends, not two algorithms:
  - same parameters (names, shapes, count: `--list-params` prints them; bench/model checks the total);
  - same graph: the image prefix (patch embedding, stages 1-2, unfused stage-3 blocks) and the text
    prefix (embeddings, unfused layers) once per step, shared by ITC, ITM and MLM; ITC on the dual
    encoder with in-batch negatives; ITM on [B positives, B hard texts, B hard images]; MLM on the
    corrupted text fused with the image prefix, logits at masked positions only; image-side
    cross-attention once per image, not per window.
Only the dropout masks and the ITM negatives differ (each side draws its own): same FLOPs.

  python3 bench/baselines/fiber_torch.py --spec SPEC.json      (what bench/model runs: config and batch from fiber)
  python3 bench/baselines/fiber_torch.py --preset fiber-base --batch 8 --length 40 --device cuda
Prints one JSON line: step seconds per timed step, parameter and gradient sizes, torch build.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

# The presets of src/model/model-config.ts (for standalone runs; bench/model passes its own config).
BASE = dict(imageEmbedDim=128, imageDepths=[2, 2, 18, 2], imageHeads=[4, 8, 16, 32], imageSize=384, mlpRatio=4,
            textHidden=768, textLayers=12, textHeads=12, textIntermediate=3072, vocabSize=50265, maxPositions=514,
            numFusionLayers=6, crossHidden=768, dropout=0.1, dropPath=0.1)
PRESETS = {
    'fiber-base': BASE,
    'fiber-small': {**BASE, 'imageEmbedDim': 64, 'imageDepths': [2, 2, 6, 2], 'imageHeads': [2, 4, 8, 16], 'imageSize': 128,
                    'textHidden': 256, 'textLayers': 6, 'textHeads': 4, 'textIntermediate': 1024, 'numFusionLayers': 4, 'crossHidden': 256},
    'fiber-tiny': {**BASE, 'imageEmbedDim': 32, 'imageDepths': [1, 1, 4, 2], 'imageHeads': [1, 2, 4, 8], 'imageSize': 64,
                   'textHidden': 64, 'textLayers': 4, 'textHeads': 2, 'textIntermediate': 256, 'numFusionLayers': 4, 'crossHidden': 64,
                   'dropout': 0.0, 'dropPath': 0.0},
}
LN_EPS = 1e-5
MLM_LN_EPS = 1e-12  # the MLM head's BertPredictionHeadTransform eps (coarse-heads.ts)
PAD_ID = 1


class Layout:
    """fusion-layout.ts: stage widths, window, fused (stage, block, text layer) pairs."""

    def __init__(self, c):
        e = c['imageEmbedDim']
        self.dims = [e, 2 * e, 4 * e, 8 * e]
        self.window = c['imageSize'] // 32
        side = c['imageSize'] // 4
        self.sides = [side, side // 2, side // 4, side // 8]
        k = c['numFusionLayers']
        d3, d4 = c['imageDepths'][2], c['imageDepths'][3]
        self.pre_text = c['textLayers'] - k
        self.pairs = [(2, d3 - (k - d4) + i, self.pre_text + i) for i in range(k - d4)]
        self.pairs += [(3, i, self.pre_text + (k - d4) + i) for i in range(d4)]


def param_specs(c):
    """(name, shape, trainable) in param-spec.ts order, coarse stage."""
    L = Layout(c)
    out = []

    def add(name, shape, trainable=True):
        out.append((name, tuple(shape), trainable))

    def linear(name, o, i, bias=True, trainable=True):
        add(name + '.weight', [o, i], trainable)
        if bias:
            add(name + '.bias', [o], trainable)

    def norm(name, d, trainable=True):
        add(name + '.weight', [d], trainable)
        add(name + '.bias', [d], trainable)

    v = 'vit_model.'
    add(v + 'patch_embed.proj.weight', [c['imageEmbedDim'], 3, 4, 4])
    add(v + 'patch_embed.proj.bias', [c['imageEmbedDim']])
    norm(v + 'patch_embed.norm', c['imageEmbedDim'])
    fused = {(s, j) for s, j, _ in L.pairs}
    for s in range(4):
        dim, heads, win = L.dims[s], c['imageHeads'][s], min(L.window, L.sides[s])
        for j in range(c['imageDepths'][s]):
            p = f'{v}layers.{s}.blocks.{j}.'
            norm(p + 'norm1', dim)
            add(p + 'attn.relative_position_bias_table', [(2 * win - 1) ** 2, heads])
            linear(p + 'attn.qkv', 3 * dim, dim)
            linear(p + 'attn.proj', dim, dim)
            if (s, j) in fused:
                linear(p + 'attn.qkv_i2t', dim, dim)
                linear(p + 'attn.qkv_text_i2t', 2 * dim, c['textHidden'])
                linear(p + 'attn.proj_i2t', dim, dim)
                add(p + 'attn.alpha_i2t', [1])
                norm(p + 'attn.norm_i2t_i', dim)
            norm(p + 'norm2', dim)
            linear(p + 'mlp.fc1', c['mlpRatio'] * dim, dim)
            linear(p + 'mlp.fc2', dim, c['mlpRatio'] * dim)
        if s < 3:
            norm(f'{v}layers.{s}.downsample.norm', 4 * dim)
            add(f'{v}layers.{s}.downsample.reduction.weight', [2 * dim, 4 * dim])
    norm(v + 'norm', L.dims[3])
    t, h = 'text_transformer.', c['textHidden']
    add(t + 'embeddings.word_embeddings.weight', [c['vocabSize'], h])
    add(t + 'embeddings.position_embeddings.weight', [c['maxPositions'], h])
    add(t + 'embeddings.token_type_embeddings.weight', [1, h])
    norm(t + 'embeddings.LayerNorm', h)
    fused_dim = {tl: L.dims[s] for s, _, tl in L.pairs}
    for l in range(c['textLayers']):
        p = f'{t}encoder.layer.{l}.'
        for n in ('query', 'key', 'value'):
            linear(f'{p}attention.self.{n}', h, h)
        linear(p + 'attention.output.dense', h, h)
        norm(p + 'attention.output.LayerNorm', h)
        if l in fused_dim:
            x = p + 'crossattention_t2i.'
            linear(x + 'self.query', h, h)
            linear(x + 'self.key', h, fused_dim[l])
            linear(x + 'self.value', h, fused_dim[l])
            linear(x + 'output.dense', h, h)
            norm(x + 'output.LayerNorm', h, trainable=False)  # kept for names; the forward never reads it
        linear(p + 'intermediate.dense', c['textIntermediate'], h)
        linear(p + 'output.dense', h, c['textIntermediate'])
        norm(p + 'output.LayerNorm', h)
        add(p + 'alpha_t2i', [1], trainable=l in fused_dim)
    hc = c['crossHidden']
    for suffix in ('_itc', ''):
        linear(f'cross_modal_image_transform{suffix}', hc, L.dims[3])
        linear(f'cross_modal_text_transform{suffix}', hc, h)
        linear(f'cross_modal_image_pooler{suffix}.dense', hc, hc)
        linear(f'cross_modal_text_pooler{suffix}.dense', hc, hc)
    linear('itm_score.fc', 2, 2 * hc)
    linear('mlm_score.transform.dense', hc, hc)
    norm('mlm_score.transform.LayerNorm', hc)
    add('mlm_score.decoder.weight', [c['vocabSize'], hc])
    add('mlm_score.bias', [c['vocabSize']])
    add('temp', [])
    return out


def init_params(c, device, seed=0):
    """Random weights (their values do not change the time): N(0, 0.02) matrices, LN 1/0, temp 0.07."""
    g = torch.Generator().manual_seed(seed)
    P = {}
    for name, shape, trainable in param_specs(c):
        if name == 'temp':
            t = torch.tensor(0.07)
        elif name.endswith('.weight') and len(shape) == 1:  # every 1-D weight is a LayerNorm's
            t = torch.ones(shape)
        elif len(shape) >= 2:
            t = torch.randn(shape, generator=g) * 0.02
        else:
            t = torch.zeros(shape)
        P[name] = t.to(device).requires_grad_(trainable)
    return P


def layer_norm(x, P, name, eps=LN_EPS):
    return F.layer_norm(x, x.shape[-1:], P[name + '.weight'], P[name + '.bias'], eps)


def dense(x, P, name):
    return F.linear(x, P[name + '.weight'], P.get(name + '.bias'))


def attention(q, k, v, heads, bias, drop, training):
    """Scaled dot-product attention (the reference's explicit form): q [B, Lq, C], k/v [B, Lk, C]."""
    b, lq, c = q.shape
    lk, d = k.shape[1], c // heads
    qh = q.reshape(b, lq, heads, d).transpose(1, 2) * (d ** -0.5)
    kh = k.reshape(b, lk, heads, d).transpose(1, 2)
    vh = v.reshape(b, lk, heads, d).transpose(1, 2)
    scores = qh @ kh.transpose(-2, -1)
    if bias is not None:
        scores = scores + bias
    probs = F.dropout(scores.softmax(-1), drop, training)
    return (probs @ vh).transpose(1, 2).reshape(b, lq, c)


def drop_path(x, rate, training):
    if not training or rate <= 0:
        return x
    keep = (torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) >= rate).to(x.dtype)
    return x * keep / (1 - rate)


class Fiber:
    def __init__(self, c, P, device, training=True):
        self.c, self.P, self.L, self.dev, self.training = c, P, Layout(c), device, training
        self.total_blocks = sum(c['imageDepths'])
        self._rel, self._mask = {}, {}

    # ---- Swin ----
    def rel_index(self, w):
        if w not in self._rel:
            coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing='ij')).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
            self._rel[w] = (rel[..., 0] * (2 * w - 1) + rel[..., 1]).reshape(-1).to(self.dev)
        return self._rel[w]

    def shift_mask(self, h, w, win, shift):
        key = (h, w, win, shift)
        if key not in self._mask:
            img = torch.zeros(1, h, w, 1)
            cnt = 0
            for hs in (slice(0, -win), slice(-win, -shift), slice(-shift, None)):
                for ws in (slice(0, -win), slice(-win, -shift), slice(-shift, None)):
                    img[:, hs, ws, :] = cnt
                    cnt += 1
            mw = self.partition(img, win).squeeze(-1)  # [nW, N]
            m = mw[:, None, :] - mw[:, :, None]
            self._mask[key] = m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0).to(self.dev)
        return self._mask[key]

    @staticmethod
    def partition(x, w):
        b, h, wd, c = x.shape
        return x.reshape(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)

    @staticmethod
    def reverse(x, w, h, wd):
        c = x.shape[-1]
        b = x.shape[0] // ((h // w) * (wd // w))
        return x.reshape(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, c)

    def swin_block(self, x, s, j, text=None, text_bias=None):
        P, c = self.P, self.c
        b, h, w, ch = x.shape
        p = f'vit_model.layers.{s}.blocks.{j}.'
        heads = c['imageHeads'][s]
        win = min(self.L.window, h, w)
        shift = win // 2 if j % 2 == 1 and min(h, w) > self.L.window else 0
        hx = layer_norm(x, P, p + 'norm1')
        if shift:
            hx = torch.roll(hx, (-shift, -shift), (1, 2))
        wins = self.partition(hx, win)  # [B*nW, N, C]
        q, k, v = dense(wins, P, p + 'attn.qkv').chunk(3, -1)
        n = win * win
        bias = P[p + 'attn.relative_position_bias_table'][self.rel_index(win)].reshape(n, n, heads).permute(2, 0, 1).unsqueeze(0)
        if shift:
            mask = self.shift_mask(h, w, win, shift)  # [nW, N, N]
            bias = (bias.unsqueeze(0) + mask[None, :, None]).reshape(-1, heads, n, n).repeat(b, 1, 1, 1)
        a = dense(attention(q, k, v, heads, bias, 0.0, self.training), P, p + 'attn.proj')
        sx = self.reverse(a, win, h, w)
        if shift:
            sx = torch.roll(sx, (shift, shift), (1, 2))
        if text is not None:
            flat = sx.reshape(b, h * w, ch)
            qi = dense(layer_norm(flat, P, p + 'attn.norm_i2t_i'), P, p + 'attn.qkv_i2t')
            kt, vt = dense(text, P, p + 'attn.qkv_text_i2t').chunk(2, -1)
            ci = dense(attention(qi, kt, vt, heads, text_bias, 0.0, self.training), P, p + 'attn.proj_i2t')
            sx = sx + P[p + 'attn.alpha_i2t'] * ci.reshape(b, h, w, ch)
        index = sum(c['imageDepths'][:s]) + j
        rate = c['dropPath'] * index / (self.total_blocks - 1) if self.total_blocks > 1 else 0.0
        x1 = x + drop_path(sx, rate, self.training)
        mlp = dense(F.gelu(dense(layer_norm(x1, P, p + 'norm2'), P, p + 'mlp.fc1')), P, p + 'mlp.fc2')
        return x1 + drop_path(mlp, rate, self.training)

    def patch_merging(self, x, s):
        b, h, w, ch = x.shape
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        p = f'vit_model.layers.{s}.downsample.'
        return F.linear(layer_norm(x, self.P, p + 'norm'), self.P[p + 'reduction.weight'])

    def image_prefix(self, pixels):
        c, P = self.c, self.P
        x = F.conv2d(pixels, P['vit_model.patch_embed.proj.weight'], P['vit_model.patch_embed.proj.bias'], stride=4).permute(0, 2, 3, 1)
        x = layer_norm(x, P, 'vit_model.patch_embed.norm')
        for s in range(2):
            for j in range(c['imageDepths'][s]):
                x = self.swin_block(x, s, j)
            x = self.patch_merging(x, s)
        first = self.L.pairs[0]
        for j in range(first[1] if first[0] == 2 else c['imageDepths'][2]):
            x = self.swin_block(x, 2, j)
        if first[0] == 3:
            x = self.patch_merging(x, 2)
        return x

    # ---- RoBERTa ----
    def embeddings(self, ids, words):
        P, c = self.P, self.c
        t = 'text_transformer.embeddings.'
        notpad = (ids != PAD_ID).int()
        positions = torch.cumsum(notpad, 1) * notpad + PAD_ID
        x = words + P[t + 'position_embeddings.weight'][positions] + P[t + 'token_type_embeddings.weight']
        return F.dropout(layer_norm(x, P, t + 'LayerNorm'), c['dropout'], self.training)

    def text_layer(self, text, bias, l, image=None):
        P, c = self.P, self.c
        p = f'text_transformer.encoder.layer.{l}.'
        heads, rate = c['textHeads'], c['dropout']
        q, k, v = (dense(text, P, f'{p}attention.self.{n}') for n in ('query', 'key', 'value'))
        a = F.dropout(dense(attention(q, k, v, heads, bias, rate, self.training), P, p + 'attention.output.dense'), rate, self.training)
        total = text + a
        if image is not None:
            x = p + 'crossattention_t2i.'
            cq, ck, cv = dense(a, P, x + 'self.query'), dense(image, P, x + 'self.key'), dense(image, P, x + 'self.value')
            cc = F.dropout(dense(attention(cq, ck, cv, heads, None, rate, self.training), P, x + 'output.dense'), rate, self.training)
            total = total + P[p + 'alpha_t2i'] * cc
        t1 = layer_norm(total, P, p + 'attention.output.LayerNorm')
        out = F.dropout(dense(F.gelu(dense(t1, P, p + 'intermediate.dense')), P, p + 'output.dense'), rate, self.training)
        return layer_norm(t1 + out, P, p + 'output.LayerNorm')

    def text_prefix(self, ids, words, bias):
        x = self.embeddings(ids, words)
        for l in range(self.L.pre_text):
            x = self.text_layer(x, bias, l)
        return x

    # ---- the rest of the backbone, by mode ----
    def finish_image(self, img):
        b, h, w, ch = img.shape
        return layer_norm(img.reshape(b, h * w, ch), self.P, 'vit_model.norm')

    def image_only(self, img):
        merged = self.L.pairs[0][0] == 3
        for s, j, _ in self.L.pairs:
            if s == 3 and not merged:
                img, merged = self.patch_merging(img, 2), True
            img = self.swin_block(img, s, j)
        return self.finish_image(img)

    def text_only(self, text, bias):
        for l in range(self.L.pre_text, self.c['textLayers']):
            text = self.text_layer(text, bias, l)
        return text

    def fusion(self, img, text, bias):
        merged = self.L.pairs[0][0] == 3
        for s, j, tl in self.L.pairs:
            if s == 3 and not merged:
                img, merged = self.patch_merging(img, 2), True
            b, h, w, ch = img.shape
            memory = img.reshape(b, h * w, ch)  # raw Swin tokens, no LN
            nxt = self.swin_block(img, s, j, text, bias)
            text = self.text_layer(text, bias, tl, memory)
            img = nxt
        return self.finish_image(img), text

    # ---- heads and losses (coarse-heads.ts, coarse-loss.ts) ----
    def coarse_loss(self, pixels, ids, mask, mlm_ids, mlm_labels):
        P = self.P
        b = ids.shape[0]
        bias = ((1 - mask.float()) * -10000.0)[:, None, None, :]
        words, mlm_words = P['text_transformer.embeddings.word_embeddings.weight'][torch.cat([ids, mlm_ids])].chunk(2)
        img_pre = self.image_prefix(pixels)
        txt_pre = self.text_prefix(ids, words, bias)
        img_tok = self.image_only(img_pre)
        txt_tok = self.text_only(txt_pre, bias)
        fi = F.normalize(torch.tanh(dense(dense(img_tok, P, 'cross_modal_image_transform_itc').mean(1), P, 'cross_modal_image_pooler_itc.dense')), dim=-1)
        m = mask.float().unsqueeze(2)
        tf_ = dense(txt_tok, P, 'cross_modal_text_transform_itc')
        ft = F.normalize(torch.tanh(dense((tf_ * m).sum(1) / m.sum(1).clamp(min=1), P, 'cross_modal_text_pooler_itc.dense')), dim=-1)
        sim_i2t = fi @ ft.detach().t() / P['temp']
        sim_t2i = ft @ fi.detach().t() / P['temp']
        diag = torch.arange(b, device=self.dev)
        itc = (F.cross_entropy(sim_i2t, diag) + F.cross_entropy(sim_t2i, diag)) / 2
        with torch.no_grad():
            eye = torch.eye(b, device=self.dev, dtype=torch.bool)
            w_i2t = F.softmax(sim_i2t.float(), 1).masked_fill(eye, 0) + 1e-9
            w_t2i = F.softmax(sim_t2i.float(), 1).masked_fill(eye, 0) + 1e-9
            neg_text = torch.multinomial(w_i2t, 1).squeeze(1)
            neg_image = torch.multinomial(w_t2i, 1).squeeze(1)
        itm_img = torch.cat([img_pre, img_pre, img_pre[neg_image]])
        itm_txt = torch.cat([txt_pre, txt_pre[neg_text], txt_pre])
        itm_bias = torch.cat([bias, bias[neg_text], bias])
        fimg, ftxt = self.fusion(itm_img, itm_txt, itm_bias)
        itm = F.cross_entropy(dense(self.cls_feats(fimg, ftxt)[1], P, 'itm_score.fc'),
                              torch.cat([torch.ones(b, dtype=torch.long), torch.zeros(2 * b, dtype=torch.long)]).to(self.dev))
        positions = (mlm_labels.reshape(-1) != -100).nonzero().squeeze(1)
        mlm_pre = self.text_prefix(mlm_ids, mlm_words, bias)
        fimg, ftxt = self.fusion(img_pre, mlm_pre, bias)
        text_feats, _ = self.cls_feats(fimg, ftxt)
        rows = text_feats.reshape(-1, text_feats.shape[-1])[positions]
        hrow = layer_norm(F.gelu(dense(rows, P, 'mlm_score.transform.dense')), P, 'mlm_score.transform.LayerNorm', MLM_LN_EPS)
        logits = F.linear(hrow, P['mlm_score.decoder.weight'], P['mlm_score.bias'])
        mlm = F.cross_entropy(logits, mlm_labels.reshape(-1)[positions])
        return itc + itm + mlm

    def cls_feats(self, img_tok, txt_tok):
        P = self.P
        text_feats = dense(txt_tok, P, 'cross_modal_text_transform')
        image_feats = dense(img_tok, P, 'cross_modal_image_transform')
        cls_t = torch.tanh(dense(text_feats[:, 0], P, 'cross_modal_text_pooler.dense'))
        cls_i = torch.tanh(dense(image_feats.mean(1), P, 'cross_modal_image_pooler.dense'))
        return text_feats, torch.cat([cls_t, cls_i], 1)


def synthetic_batch(c, b, l, seed=1):
    """Standalone batches: random ids (never pad), 15% of the inner positions masked."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, c['vocabSize'] - 1, (b, l), generator=g)
    ids[:, 0], ids[:, -1] = 0, 2
    labels = torch.full((b, l), -100)
    chosen = (torch.rand(b, l, generator=g) < 0.15)
    chosen[:, 0] = chosen[:, -1] = False
    labels[chosen] = ids[chosen]
    mlm_ids = ids.masked_fill(chosen, c['vocabSize'] - 1)
    return ids, torch.ones(b, l, dtype=torch.long), mlm_ids, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spec', help='JSON from bench/model: config, batch, length, inputIds, mlmInputIds, mlmLabels')
    ap.add_argument('--preset', default='fiber-tiny', choices=sorted(PRESETS))
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--length', type=int, default=16)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--tf32', action='store_true', help='CUDA: TF32 matmuls (the reference\'s fp32 on A100 with torch <= 1.11); default strict fp32')
    ap.add_argument('--list-params', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if a.spec:
        with open(a.spec) as f:
            spec = json.load(f)
        cfg, b, l = spec['config'], spec['batch'], spec['length']
        as_t = lambda k: torch.tensor(spec[k], dtype=torch.long).reshape(b, l)
        ids, mlm_ids, labels = as_t('inputIds'), as_t('mlmInputIds'), as_t('mlmLabels')
        mask = as_t('attentionMask')
    else:
        cfg, b, l = PRESETS[a.preset], a.batch, a.length
        ids, mask, mlm_ids, labels = synthetic_batch(cfg, b, l)
    specs = param_specs(cfg)
    if a.list_params:
        print(json.dumps([[n, list(s), t] for n, s, t in specs]))
        return
    P = init_params(cfg, dev)
    model = Fiber(cfg, P, dev)
    s = cfg['imageSize']
    pixels = torch.randn(b, 3, s, s, generator=torch.Generator().manual_seed(3)).to(dev)
    ids, mask, mlm_ids, labels = (t.to(dev) for t in (ids, mask, mlm_ids, labels))
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    times, loss = [], float('nan')
    for i in range(a.warmup + a.steps):
        for p in P.values():
            p.grad = None
        sync()
        t0 = time.perf_counter()
        total = model.coarse_loss(pixels, ids, mask, mlm_ids, labels)
        total.backward()
        sync()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
        loss = total.item()
    grads = [p.grad for p in P.values() if p.grad is not None]
    # Debian builds torch against the generic libblas.so.3: which BLAS runs is whichever library
    # that name resolves to (reference BLAS is ~20x slower than OpenBLAS), so report the mapped file.
    try:
        with open('/proc/self/maps') as f:
            blas = sorted({line.split()[-1] for line in f if 'blas' in line.split()[-1].lower()})
    except OSError:
        blas = []
    out = {
        'torch': torch.__version__, 'device': str(dev) if dev.type != 'cuda' else torch.cuda.get_device_name(dev),
        'threads': torch.get_num_threads(), 'blas': blas, 'tf32': a.tf32 and dev.type == 'cuda',
        'batch': b, 'length': l, 'imageSize': s, 'loss': loss, 'stepSeconds': times,
        'params': sum(math.prod(sh) for _, sh, _ in specs),
        'trainableParams': sum(math.prod(sh) for _, sh, t in specs if t),
        'gradBytes': sum(g.numel() * g.element_size() for g in grads),
    }
    if dev.type == 'cuda':
        out['peakMemoryGiB'] = torch.cuda.max_memory_allocated(dev) / 2 ** 30
    print(json.dumps(out))


if __name__ == '__main__':
    sys.exit(main())
