import assert from 'node:assert/strict';

/*
 * An independent reader of TensorBoard event files for tests: TFRecord framing with CRC checks
 * (bitwise CRC-32C, not the writer's table) and the Event / Summary protos.
 */

/** CRC-32C bit by bit, independent of the table the writer uses. */
export function slowCrc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const masked = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;

export interface ParsedEvent { wallTime: number; step: number; fileVersion?: string; scalars: Record<string, number> }

/** TFRecord framing and the Event / Summary protos, parsed the way TensorBoard does; throws on a bad CRC. */
export function parseEventFile(buf: Buffer): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  for (let at = 0; at < buf.length;) {
    const len = Number(buf.readBigUInt64LE(at));
    assert.equal(buf.readUInt32LE(at + 8), masked(slowCrc32c(buf.subarray(at, at + 8))), `length CRC at ${at}`);
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(buf.readUInt32LE(at + 12 + len), masked(slowCrc32c(data)), `data CRC at ${at}`);
    events.push(parseEvent(data));
    at += 16 + len;
  }
  return events;
}

function fields(buf: Buffer, visit: (field: number, wire: number, read: { varint?: bigint; bytes?: Buffer; fixed?: Buffer }) => void): void {
  let i = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) visit(field, wire, { varint: varint() });
    else if (wire === 1) { visit(field, wire, { fixed: buf.subarray(i, i + 8) }); i += 8; }
    else if (wire === 5) { visit(field, wire, { fixed: buf.subarray(i, i + 4) }); i += 4; }
    else if (wire === 2) { const n = Number(varint()); visit(field, wire, { bytes: buf.subarray(i, i + n) }); i += n; }
    else throw new Error(`wire type ${wire}`);
  }
}

function parseEvent(data: Buffer): ParsedEvent {
  const e: ParsedEvent = { wallTime: 0, step: 0, scalars: {} };
  fields(data, (f, _w, r) => {
    if (f === 1) e.wallTime = r.fixed!.readDoubleLE(0);
    else if (f === 2) e.step = Number(r.varint!);
    else if (f === 3) e.fileVersion = r.bytes!.toString();
    else if (f === 5) {
      fields(r.bytes!, (vf, _vw, v) => {
        if (vf !== 1) return;
        let tag = '';
        let value = Number.NaN;
        fields(v.bytes!, (xf, _xw, x) => {
          if (xf === 1) tag = x.bytes!.toString();
          if (xf === 2) value = x.fixed!.readFloatLE(0);
        });
        e.scalars[tag] = value;
      });
    }
  });
  return e;
}

