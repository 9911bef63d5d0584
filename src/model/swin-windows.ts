import * as tf from '@tensorflow/tfjs';

/*
 * Window bookkeeping for Swin (timm swin_transformer.py), as pure functions.
 * Letters: B batch, H/W token grid, C channels, w window side, N = w*w tokens per window,
 * nW = (H/w)*(W/w) windows per image.
 */

/** [B, H, W, C] -> [B*nW, N, C], windows in row-major order. */
export function windowPartition(x: tf.Tensor, w: number): tf.Tensor {
  const [b, h, wd, c] = x.shape as [number, number, number, number];
  return tf.transpose(x.reshape([b, h / w, w, wd / w, w, c]), [0, 1, 3, 2, 4, 5]).reshape([-1, w * w, c]);
}

/** [B*nW, N, C] -> [B, H, W, C]; inverse of windowPartition. */
export function windowReverse(windows: tf.Tensor, w: number, h: number, wd: number): tf.Tensor {
  const c = windows.shape[2]!;
  const b = windows.shape[0]! / ((h / w) * (wd / w));
  return tf.transpose(windows.reshape([b, h / w, wd / w, w, w, c]), [0, 1, 3, 2, 4, 5]).reshape([b, h, wd, c]);
}

/** torch.roll(x, (shift, shift), dims=(1, 2)) on [B, H, W, C]; shift may be negative. */
export function roll2d(x: tf.Tensor, shift: number): tf.Tensor {
  const rollAxis = (t: tf.Tensor, axis: number) => {
    const n = t.shape[axis]!;
    const s = ((shift % n) + n) % n; // out[i] = t[(i - s) mod n]
    if (s === 0) return t;
    const [head, tail] = tf.split(t, [n - s, s], axis);
    return tf.concat([tail!, head!], axis);
  };
  return rollAxis(rollAxis(x, 1), 2);
}

/**
 * timm's relative_position_index: for query i and key j of a w x w window, the row of the
 * (2w-1)^2-row bias table. Returns [N*N] int32, row-major over (i, j).
 */
export function relativePositionIndex(w: number): Int32Array {
  const cached = indexCache.get(w);
  if (cached) return cached;
  const n = w * w;
  const out = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    const hi = Math.floor(i / w), wi = i % w;
    for (let j = 0; j < n; j++) {
      const hj = Math.floor(j / w), wj = j % w;
      out[i * n + j] = (hi - hj + w - 1) * (2 * w - 1) + (wi - wj + w - 1);
    }
  }
  indexCache.set(w, out);
  return out;
}

/** Both tables are pure functions of a few integers and rebuilt for every block call otherwise. */
const indexCache = new Map<number, Int32Array>();
const maskCache = new Map<string, Float32Array>();

/**
 * The shifted-window attention mask (timm `attn_mask`): after rolling by -shift, tokens that came
 * from different regions of the image must not attend to each other inside one window.
 * Returns [nW * N * N] float32 with 0 (same region) or -100 (different), for an h x wd grid.
 * The returned arrays are cached and shared: do not modify them.
 */
export function shiftedWindowMask(h: number, wd: number, w: number, shift: number): Float32Array {
  const key = `${h}x${wd}/${w}/${shift}`;
  const cached = maskCache.get(key);
  if (cached) return cached;
  const region = new Int32Array(h * wd);
  const bands = (len: number) => [[0, len - w], [len - w, len - shift], [len - shift, len]] as const;
  let cnt = 0;
  for (const [h0, h1] of bands(h)) {
    for (const [w0, w1] of bands(wd)) {
      for (let y = h0; y < h1; y++) for (let x = w0; x < w1; x++) region[y * wd + x] = cnt;
      cnt++;
    }
  }
  const n = w * w;
  const nW = (h / w) * (wd / w);
  const out = new Float32Array(nW * n * n);
  let win = 0;
  for (let wy = 0; wy < h / w; wy++) {
    for (let wx = 0; wx < wd / w; wx++, win++) {
      const ids: number[] = [];
      for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) ids.push(region[(wy * w + y) * wd + wx * w + x]!);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[(win * n + i) * n + j] = ids[i] === ids[j] ? 0 : -100;
    }
  }
  maskCache.set(key, out);
  return out;
}
