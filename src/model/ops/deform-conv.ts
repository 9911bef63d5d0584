import * as tf from '@tensorflow/tfjs';
import { recomputed } from './block-call.js';
import { RECOMPUTE_COLUMNS_BYTES } from './conv2d.js';
import { linear } from './matmul.js';

/*
 * Modulated deformable convolution v2 (Zhu et al. 2019; maskrcnn-benchmark's ModulatedDeformConv,
 * kernel 3, padding 1, dilation 1, one deformable group, as DyHead uses it), in channels-last
 * layout and built only from ops whose gradients exist on every backend: the bilinear taps are
 * row gathers in one custom-gradient node (a scatterND gradient: wasm has no UnsortedSegmentSum) and the conv
 * is one 2-D matmul over the sampled columns (wasm has no Conv2DBackpropFilter).
 * B batch, H x W input, Ho x Wo output, Cin/Cout channels, K = 9 kernel taps (k = 3i + j).
 */

/** Kernel taps of the 3x3 kernel. */
export const DEFORM_TAPS = 9;

/**
 * Output side of a 3x3 conv with padding 1: (n + 2 - 3) / stride + 1, floored, as the CUDA
 * kernel computes it (= ceil(n / stride)).
 */
export function deformOutputSize(n: number, stride: number): number {
  return Math.floor((n - 1) / stride) + 1;
}

/**
 * x [B, H, W, Cin]; offset [B, Ho, Wo, 18], tap k's (dy, dx) at channels (2k, 2k+1) as in DCN;
 * mask [B, Ho, Wo, 9] (already through the sigmoid); weight [Cout, Cin, 3, 3] (PyTorch layout);
 * bias [Cout] -> [B, Ho, Wo, Cout]. `recomputeAbove`: sampled-column bytes from which it runs as a
 * recomputed node (tests set it).
 *   out[b, y, x] = bias + sum_k W_k . mask_k * bilinear(x_b, y*s - 1 + i_k + dy_k, x*s - 1 + j_k + dx_k)
 * where bilinear reads 0 outside the map (each of the four corners on its own, as
 * dmcn_im2col_bilinear does), so the gradient w.r.t. the offsets is DCN's as well.
 */
export function modulatedDeformConv2d(x: tf.Tensor, offset: tf.Tensor, mask: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, stride: 1 | 2 = 1, recomputeAbove = RECOMPUTE_COLUMNS_BYTES): tf.Tensor {
  const [b, h, w, cin] = x.shape as [number, number, number, number];
  const ho = deformOutputSize(h, stride), wo = deformOutputSize(w, stride);
  if (offset.shape.join() !== [b, ho, wo, 2 * DEFORM_TAPS].join() || mask.shape.join() !== [b, ho, wo, DEFORM_TAPS].join()) {
    throw new RangeError(`offset ${offset.shape} / mask ${mask.shape} do not match the output [${b}, ${ho}, ${wo}]`);
  }
  // Large sampled columns are rebuilt in the backward pass rather than kept (as conv2d does);
  // x, offset, mask, weight and bias are each read once inside, so the gradients are the same bits.
  if (4 * b * ho * wo * DEFORM_TAPS * cin >= recomputeAbove) {
    return recomputed((xx, oo, mm, ww, bb) => deformBody(xx, oo, mm, ww, bb, stride), bias ? [x, offset, mask, weight, bias] : [x, offset, mask, weight]);
  }
  return deformBody(x, offset, mask, weight, bias, stride);
}

function deformBody(x: tf.Tensor, offset: tf.Tensor, mask: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, stride: 1 | 2): tf.Tensor {
  const [b, h, w, cin] = x.shape as [number, number, number, number];
  const [cout] = weight.shape as [number, number, number, number];
  const ho = deformOutputSize(h, stride), wo = deformOutputSize(w, stride);
  return tf.tidy(() => {
    const [dy, dx] = tf.split(offset.reshape([b, ho, wo, DEFORM_TAPS, 2]), 2, 4).map((t) => t.reshape([b, ho, wo, DEFORM_TAPS]));
    const py = tf.add(tapBase(ho, wo, stride, 'y'), dy!); // [B, Ho, Wo, K] sampling rows
    const px = tf.add(tapBase(ho, wo, stride, 'x'), dx!); // [B, Ho, Wo, K] sampling columns
    // floor has a zero gradient: the offsets' gradient flows through the fractional parts.
    const ly = tf.sub(py, tf.floor(py)), lx = tf.sub(px, tf.floor(px));
    const hy = tf.sub(1, ly), hx = tf.sub(1, lx);
    const bilinear = tf.stack([tf.mul(hy, hx), tf.mul(hy, lx), tf.mul(ly, hx), tf.mul(ly, lx)]); // [4, B, Ho, Wo, K]
    // One extra zero row: corners outside the map read it (zero padding).
    const table = tf.concat([x.reshape([b * h * w, cin]), tf.zeros([1, cin])], 0);
    const coef = tf.mul(bilinear, mask.expandDims(0)).reshape([4, b * ho * wo * DEFORM_TAPS]); // [4, N]
    const cols = sampledColumns(table, coef, py, px, b, h, w); // [N, Cin], N = B Ho Wo K
    // Columns ordered (k, cin): the weight goes to [Cout, 3, 3, Cin] to match.
    const wmat = tf.transpose(weight, [0, 2, 3, 1]).reshape([cout, DEFORM_TAPS * cin]);
    return linear(cols.reshape([b * ho * wo, DEFORM_TAPS * cin]), wmat, bias).reshape([b, ho, wo, cout]);
  });
}

/** Undeformed sampling coordinate of every tap: y*s - 1 + i (axis 'y') or x*s - 1 + j ('x'); [1, Ho, Wo, K]. */
function tapBase(ho: number, wo: number, stride: number, axis: 'y' | 'x'): tf.Tensor {
  const out = new Float32Array(ho * wo * DEFORM_TAPS);
  for (let y = 0; y < ho; y++) {
    for (let x = 0; x < wo; x++) {
      for (let k = 0; k < DEFORM_TAPS; k++) {
        const i = Math.floor(k / 3), j = k % 3;
        out[(y * wo + x) * DEFORM_TAPS + k] = axis === 'y' ? y * stride - 1 + i : x * stride - 1 + j;
      }
    }
  }
  return tf.tensor4d(out, [1, ho, wo, DEFORM_TAPS]);
}

/**
 * Rows of the four bilinear corners (y0, x0), (y0, x0+1), (y0+1, x0), (y0+1, x0+1) of every
 * sampling point in the flattened [B*H*W + 1, Cin] table, the last (zero) row for corners off
 * the map. py, px [B, Ho, Wo, K] -> int32 [4, B, Ho, Wo, K].
 */
function cornerRows(py: tf.Tensor, px: tf.Tensor, b: number, h: number, w: number): tf.Tensor {
  return tf.tidy(() => {
    const y0 = tf.floor(py), x0 = tf.floor(px);
    const cy = tf.stack([y0, y0, tf.add(y0, 1), tf.add(y0, 1)]);
    const cx = tf.stack([x0, tf.add(x0, 1), x0, tf.add(x0, 1)]);
    const inside = tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(cy, 0), tf.lessEqual(cy, h - 1)), tf.logicalAnd(tf.greaterEqual(cx, 0), tf.lessEqual(cx, w - 1)));
    const batchBase = tf.mul(tf.range(0, b, 1, 'float32'), h * w).reshape([1, b, 1, 1, 1]);
    // Row indices in float32 are exact below 2^24 rows, far above any map here.
    return tf.where(inside, tf.add(batchBase, tf.add(tf.mul(cy, w), cx)), tf.fill(cy.shape, b * h * w)).toInt();
  });
}

/**
 * The modulated bilinear samples sum_c coef[c] * table[rows_c] over the four corners c, as one
 * custom-gradient node that never holds more than one corner's rows at a time (each corner's
 * temporaries are freed as soon as they are summed, forward and backward): a [4, N, Cin]
 * stack of gathered corners (and its gradient) is what made fiber-base's fine step at 800 x 1088
 * overflow the 4 GiB wasm heap (each P3 corner stack is ~0.5 GB). The backward pass gathers each
 * corner again instead of keeping it. Gradients: d/dtable = sum_c scatterND(rows_c, dy * coef_c)
 * (summing duplicates; no UnsortedSegmentSum on wasm), d/dcoef_c = rowsum(dy * table[rows_c]),
 * d/dpy = d/dpx = 0 (the coordinates' gradient flows through the bilinear weights in `coef`).
 * table [R, Cin], coef [4, N], py, px [B, Ho, Wo, K] (N = B Ho Wo K) -> [N, Cin].
 */
function sampledColumns(table: tf.Tensor, coef: tf.Tensor, py: tf.Tensor, px: tf.Tensor, b: number, h: number, w: number): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const [t, c, y, x, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const rows = cornerRows(y, x, b, h, w).reshape([4, -1]); // [4, N]
    save([rows, t, c]);
    const corner = (r: tf.Tensor, i: number) => tf.squeeze(tf.slice(r, [i, 0], [1, -1]), [0]);
    const value = tf.tidy(() => {
      let acc: tf.Tensor | undefined;
      for (let i = 0; i < 4; i++) {
        const rowsI = corner(rows, i);
        const gathered = tf.gather(t, rowsI);
        const term = tf.mul(gathered, corner(c, i).expandDims(1));
        tf.dispose([rowsI, gathered]);
        acc = acc ? addFreeing(acc, term) : term;
      }
      return acc!;
    });
    return {
      value,
      gradFunc: (dy, saved) =>
        tf.tidy(() => {
          const [r, tab, cf] = saved as [tf.Tensor, tf.Tensor2D, tf.Tensor2D];
          const g = dy as tf.Tensor2D; // [N, Cin]
          let dtable: tf.Tensor | undefined;
          const dcoef: tf.Tensor[] = [];
          for (let i = 0; i < 4; i++) {
            const ri = corner(r, i);
            const weighted = tf.mul(g, corner(cf, i).expandDims(1));
            const scattered = tf.scatterND(ri.expandDims(1), weighted, tab.shape);
            weighted.dispose();
            dtable = dtable ? addFreeing(dtable, scattered) : scattered;
            const gathered = tf.gather(tab, ri);
            const prod = tf.mul(g, gathered);
            dcoef.push(tf.sum(prod, 1));
            tf.dispose([gathered, prod]);
          }
          return [dtable!, tf.stack(dcoef), tf.zerosLike(y), tf.zerosLike(x)];
        }),
    };
  });
  return op(table, coef, py, px);
}

/**
 * a + b, freeing both at once: the per-corner [N, Cin] terms of a P3 map at 800 x 1088 are
 * 0.125 GB each, and a tidy would hold all of them to its end.
 */
function addFreeing(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const sum = tf.add(a, b);
  tf.dispose([a, b]);
  return sum;
}
