import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FiberError } from '../../src/errors/index.js';
import { halfToFloat, readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';

test('safetensors round trip is bit-exact (NaN payloads, -0, subnormals, i32, i64, scalars)', () => {
  const f = new Float32Array([0, -0, 1.5, NaN, Infinity, -Infinity, 1e-45, 3.4028234e38]);
  new Uint32Array(f.buffer)[3] = 0x7fc12345; // a NaN with a payload
  const tensors = new Map<string, { shape: number[]; data: Float32Array | Int32Array | BigInt64Array }>([
    ['a.weight', { shape: [2, 4], data: f }],
    ['ids', { shape: [3], data: new Int32Array([-1, 0, 2147483647]) }],
    ['big', { shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) }],
    ['temp', { shape: [], data: new Float32Array([0.07]) }],
  ]);
  const buf = writeSafetensors(tensors, { format: 'fiber' });
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0, 'header padded to 8 bytes');
  // Read through a Buffer slice at an odd offset inside a larger pool, as fs may hand it over.
  const pooled = Buffer.concat([Buffer.from([1, 2, 3]), buf]).subarray(3);
  const { tensors: back, metadata } = readSafetensors(pooled);
  assert.deepEqual(metadata, { format: 'fiber' });
  assert.deepEqual([...back.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const r = back.get(name)!;
    assert.deepEqual(r.shape, t.shape, name);
    assert.equal(r.data.constructor, t.data.constructor, name);
    assert.deepEqual(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
  }
  assert.equal(back.get('a.weight')!.dtype, 'F32');
  assert.equal(back.get('big')!.dtype, 'I64');
});

/** A file with a hand-written header, for the dtypes fiber reads but does not write. */
function rawFile(header: object, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test('F16 and BF16 are decoded to float32', () => {
  const half = new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001, 0x3555]); // 1, -2, inf, 2^-24, ~0.333
  const bf = new Uint16Array([0x3f80, 0xc040]); // 1, -3
  const data = new Uint8Array([...new Uint8Array(half.buffer), ...new Uint8Array(bf.buffer)]);
  const file = rawFile({ h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] }, b: { dtype: 'BF16', shape: [2], data_offsets: [10, 14] } }, data);
  const { tensors } = readSafetensors(file);
  assert.deepEqual(Array.from(tensors.get('h')!.data as Float32Array).slice(0, 4), [1, -2, Infinity, 2 ** -24]);
  assert.ok(Math.abs((tensors.get('h')!.data as Float32Array)[4]! - 0.33325) < 1e-4);
  assert.deepEqual(Array.from(tensors.get('b')!.data as Float32Array), [1, -3]);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('malformed files are refused with a named, coded error', () => {
  const bad = (buf: Buffer, re: RegExp) => assert.throws(() => readSafetensors(buf), (err: unknown) => err instanceof FiberError && err.code === 'fiber.model.safetensors' && re.test(err.message));
  bad(Buffer.alloc(4), /shorter than the 8-byte header/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(1000n);
  bad(huge, /exceeds the file/);
  bad(rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), /x: 4 bytes for F32\[2\]/);
  bad(rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(8)), /x: data_offsets \[0, 16\] fall outside/);
  bad(rawFile({ x: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(8)), /x: dtype U8 is not supported/);
  bad(rawFile({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, y: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, new Uint8Array(8)), /overlap/);
  const notJson = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x:')]);
  bad(notJson, /not JSON/);
  assert.throws(() => writeSafetensors(new Map([['w', { shape: [3], data: new Float32Array(2) }]])), /w: shape \[3\] holds 3 values but data has 2/);
});
