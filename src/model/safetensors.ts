import { FiberError } from '../errors/index.js';

/*
 * The safetensors format (huggingface/safetensors), pure Buffer <-> Map:
 *   [u64 little-endian N][N bytes of JSON header][data]
 * header: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} },
 * offsets relative to the start of data. Read: F32, F16, BF16 (decoded to Float32Array), I32,
 * I64 (BigInt64Array). Write: F32, I32, I64. Little-endian hosts only (x86, arm64).
 */

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';
export type SafeData = Float32Array | Int32Array | BigInt64Array;

export interface SafeTensor {
  /** The dtype stored in the file. F16/BF16 are decoded to Float32Array on read. */
  readonly dtype: SafeDtype;
  readonly shape: readonly number[];
  readonly data: SafeData;
}

const BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };
/** Refuse absurd headers before allocating (the reference format caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function fail(msg: string, details: Record<string, unknown> = {}): FiberError {
  return new FiberError('fiber.model.safetensors', 'usage', `safetensors: ${msg}`, details);
}

/** Parses and validates a safetensors file. Tensors are copied out, so `buf` may be reused. */
export function readSafetensors(buf: Uint8Array): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw fail(`file of ${buf.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > buf.length) throw fail(`header length ${headerLen} exceeds the file (${buf.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch (err) {
    throw fail(`header is not JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  const ranges: Array<[number, number, string]> = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) throw fail(`${name}: dtype ${String(e.dtype)} is not supported (F32, F16, BF16, I32, I64)`, { name });
    const dtype = e.dtype as SafeDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`${name}: shape must be a list of non-negative integers`, { name });
    const shape = e.shape as number[];
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`${name}: data_offsets must be [begin, end]`, { name });
    const [begin, end] = e.data_offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLen) throw fail(`${name}: data_offsets [${begin}, ${end}] fall outside the ${dataLen} data bytes`, { name });
    if (end - begin !== count * BYTES[dtype]) throw fail(`${name}: ${end - begin} bytes for ${dtype}[${shape.join(', ')}] (expected ${count * BYTES[dtype]})`, { name });
    ranges.push([begin, end, name]);
    tensors.set(name, { dtype, shape, data: decode(dtype, buf.subarray(dataStart + begin, dataStart + end), count) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw fail(`tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap`);
  }
  return { tensors, metadata };
}

function decode(dtype: SafeDtype, bytes: Uint8Array, count: number): SafeData {
  const copy = new Uint8Array(bytes); // an aligned copy (Buffer#slice would be a view)
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer, 0, count);
    case 'I32':
      return new Int32Array(copy.buffer, 0, count);
    case 'I64':
      return new BigInt64Array(copy.buffer, 0, count);
    case 'BF16': {
      const src = new Uint16Array(copy.buffer, 0, count);
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = src[i]! << 16; // bf16 is the top half of an f32
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(copy.buffer, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(src[i]!);
      return out;
    }
  }
}

/** IEEE 754 binary16 -> number (subnormals, inf, NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Serialises tensors in map order. Float32Array -> F32, Int32Array -> I32, BigInt64Array -> I64
 * (a stated dtype of F16/BF16 is refused: fiber writes full precision). The header is padded
 * with spaces to a multiple of 8 bytes, as the reference writer does.
 */
export function writeSafetensors(tensors: ReadonlyMap<string, { shape: readonly number[]; data: SafeData }>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const dtype: SafeDtype = t.data instanceof Float32Array ? 'F32' : t.data instanceof Int32Array ? 'I32' : 'I64';
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw fail(`${name}: shape [${t.shape.join(', ')}] holds ${count} values but data has ${t.data.length}`, { name });
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([len, headerBytes, ...parts]);
}
