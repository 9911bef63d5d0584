import sharp, { type OutputInfo } from 'sharp';
import type { ImageNormalization } from './data-stage-config.js';

/**
 * Image decoding and the two stages' geometric transforms, on libvips through sharp (native,
 * multi-threaded in libuv's pool; JPEG, PNG and WebP). Output is CHW float32, normalised.
 *
 *   C  channels (3, RGB)    H, W  output height and width in pixels
 */

/**
 * A decoded, transformed image. The pixels stay as libvips wrote them (HWC uint8) until the batch
 * is built: {@link writeNormalizedChw} normalises them straight into the batch tensor, so no
 * per-sample float image is allocated, filled and copied (that was a third of the fine stage's
 * CPU time: a padded 800x1333 batch is hundreds of MB).
 */
export interface TransformedImage {
  /** [H, W, C] uint8, as decoded and resized (C = `channels`). */
  readonly rgb: Uint8Array;
  /** Channels per pixel in `rgb` (3 after the sRGB conversion; 1 is read as grey). */
  readonly channels: number;
  readonly normalization: ImageNormalization;
  /** [3, H, W] float32, normalised: computed on each access (tests, tools); the batch path uses writeNormalizedChw. */
  readonly pixels: Float32Array;
  readonly height: number;
  readonly width: number;
  /** Size of the stored image, before any transform. */
  readonly originalHeight: number;
  readonly originalWidth: number;
  /** Whether the image was mirrored left-right. */
  readonly flipped: boolean;
}

/** The image bytes could not be decoded (bad or truncated data, unknown format). */
export class UndecodableImageError extends Error {
  override readonly name = 'UndecodableImageError';
}

/** Coarse stage (reference §2.2): Resize((S, S), bicubic), no crop, no augmentation. */
export async function coarseImage(bytes: Uint8Array, size: number, norm: ImageNormalization): Promise<TransformedImage> {
  return transform(bytes, () => ({ width: size, height: size }), false, norm);
}

/** Fine-stage geometry: the shorter side and the cap on the longer one. */
export interface FineResize {
  /** Target shorter side in pixels (one of the multi-scale sizes). */
  readonly shortSide: number;
  /** Cap on the longer side. @defaultValue 1333 */
  readonly maxSize: number;
}

/**
 * maskrcnn_benchmark's Resize.get_size: shorter side to `shortSide`, unless that makes the longer
 * side exceed `maxSize`, in which case the longer side is `maxSize`. Aspect ratio is kept.
 */
export function fineOutputSize(width: number, height: number, r: FineResize): { width: number; height: number } {
  let size = r.shortSide;
  const minOrig = Math.min(width, height);
  const maxOrig = Math.max(width, height);
  if ((maxOrig / minOrig) * size > r.maxSize) size = Math.round((r.maxSize * minOrig) / maxOrig);
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

/** Fine stage (reference §3.3): multi-scale resize keeping aspect, optional horizontal flip. */
export async function fineImage(bytes: Uint8Array, resize: FineResize, flip: boolean, norm: ImageNormalization): Promise<TransformedImage> {
  return transform(bytes, (w, h) => fineOutputSize(w, h, resize), flip, norm);
}

async function transform(bytes: Uint8Array, sizeFor: (w: number, h: number) => { width: number; height: number }, flip: boolean, norm: ImageNormalization): Promise<TransformedImage> {
  let raw: { data: Buffer; info: OutputInfo };
  let originalWidth: number;
  let originalHeight: number;
  try {
    // failOn 'warning': libjpeg reports flipped or missing entropy bytes only as a "Corrupt JPEG
    // data" warning and would hand back a smeared or half-grey image; we skip such samples instead.
    const img = sharp(bytes, { failOn: 'warning' });
    const meta = await img.metadata();
    originalWidth = meta.width ?? 0;
    originalHeight = meta.height ?? 0;
    if (!originalWidth || !originalHeight) throw new Error('no image size');
    if (!['jpeg', 'png', 'webp'].includes(meta.format ?? '')) throw new Error(`unsupported format ${meta.format}`);
    const out = sizeFor(originalWidth, originalHeight);
    let pipeline = img.resize(out.width, out.height, { fit: 'fill', kernel: 'cubic' });
    if (flip) pipeline = pipeline.flop();
    raw = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    // libvips repeats warnings on several lines: keep one line for logs and `verify` output.
    throw new UndecodableImageError([...new Set((err as Error).message.split('\n').map((l) => l.trim()).filter(Boolean))].join('; '));
  }
  const { width, height, channels } = raw.info;
  const rgb = raw.data;
  return {
    rgb, channels, normalization: norm, width, height, originalWidth, originalHeight, flipped: flip,
    get pixels() {
      return toNormalizedChw(rgb, width, height, channels, norm);
    },
  };
}

/** HWC uint8 (1 or 3+ channels) -> CHW float32 with (v/255 - mean) / std. */
export function toNormalizedChw(data: Uint8Array, width: number, height: number, channels: number, norm: ImageNormalization): Float32Array {
  const out = new Float32Array(3 * width * height);
  writeNormalizedChw(data, width, height, channels, norm, out, 0, width, height);
  return out;
}

/** Per-channel tables, (v/255 - mean) / std rounded to float32 once: one load per value, not a multiply-add. */
const luts = new WeakMap<ImageNormalization, Float32Array>();
function normalizationLut(norm: ImageNormalization): Float32Array {
  let lut = luts.get(norm);
  if (!lut) {
    lut = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - (norm.mean[c] as number)) / (norm.std[c] as number);
    luts.set(norm, lut);
  }
  return lut;
}

/**
 * Normalise HWC uint8 into `out` as CHW float32 at `offset`, laid out in planes of `planeHeight`
 * rows of `rowStride` values (a padded batch slot: the image fills the top left, the rest is left
 * as it is). One pass over the source with three output streams; values are the table's, so the
 * bits are those of toNormalizedChw whatever the layout.
 */
export function writeNormalizedChw(data: Uint8Array, width: number, height: number, channels: number, norm: ImageNormalization, out: Float32Array, offset: number, rowStride: number, planeHeight: number): void {
  const lut = normalizationLut(norm);
  const plane = rowStride * planeHeight;
  if (channels === 1) {
    for (let y = 0; y < height; y++) {
      let j = y * width;
      let o = offset + y * rowStride;
      for (let x = 0; x < width; x++, j++, o++) {
        const v = data[j] as number;
        out[o] = lut[v] as number;
        out[o + plane] = lut[256 + v] as number;
        out[o + 2 * plane] = lut[512 + v] as number;
      }
    }
    return;
  }
  for (let y = 0; y < height; y++) {
    let j = y * width * channels;
    let o = offset + y * rowStride;
    for (let x = 0; x < width; x++, j += channels, o++) {
      out[o] = lut[data[j] as number] as number;
      out[o + plane] = lut[256 + (data[j + 1] as number)] as number;
      out[o + 2 * plane] = lut[512 + (data[j + 2] as number)] as number;
    }
  }
}
