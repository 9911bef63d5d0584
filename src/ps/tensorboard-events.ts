import { maskedCrc32c } from './crc32c.js';

/**
 * TensorBoard event files, written by hand (docs/decisions.md: no maintained npm writer exists, and
 * tfjs-node's summary writer needs the native binding). A file is a sequence of TFRecords:
 *
 *   uint64 length (LE) | uint32 masked CRC32C of the length bytes | data | uint32 masked CRC32C of data
 *
 * where each data is an `Event` proto (tensorflow/core/util/event.proto): wall_time = 1 (double),
 * step = 2 (int64), file_version = 3 (string), summary = 5 (Summary { repeated Value value = 1 },
 * Value { tag = 1 (string), simple_value = 2 (float) }). The first event carries
 * file_version "brain.Event:2", which is how TensorBoard recognises the format.
 */
export interface ScalarEvent {
  readonly step: number;
  /** Seconds since the epoch. */
  readonly wallTime: number;
  /** Tag -> value; non-finite values are written too (TensorBoard shows NaN/Inf). */
  readonly scalars: Readonly<Record<string, number>>;
}

export const EVENT_FILE_VERSION = 'brain.Event:2';

/** `events.out.tfevents.<10-digit key>.<suffix>`: TensorBoard loads the files of a directory in name order. */
export function eventFileName(key: number, suffix: string): string {
  return `events.out.tfevents.${String(Math.max(0, Math.floor(key))).padStart(10, '0')}.${suffix}`;
}

/** One event file: the version header (at `firstWallTime`), then one event per ScalarEvent. */
export function encodeEventFile(events: readonly ScalarEvent[], firstWallTime: number): Buffer {
  const records = [record(versionEvent(firstWallTime)), ...events.map((e) => record(scalarEvent(e)))];
  return Buffer.concat(records);
}

function record(data: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([head, data, tail]);
}

function versionEvent(wallTime: number): Buffer {
  return Buffer.concat([doubleField(1, wallTime), bytesField(3, Buffer.from(EVENT_FILE_VERSION))]);
}

function scalarEvent(e: ScalarEvent): Buffer {
  const values = Object.entries(e.scalars).map(([tag, v]) => bytesField(1, Buffer.concat([bytesField(1, Buffer.from(tag)), floatField(2, v)])));
  return Buffer.concat([doubleField(1, e.wallTime), varintField(2, e.step), bytesField(5, Buffer.concat(values))]);
}

function key(field: number, wire: number): Buffer {
  return varint((field << 3) | wire);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(Math.floor(n));
  if (v < 0n) v += 1n << 64n; // int64 in two's complement, as protobuf encodes negatives
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

function varintField(field: number, n: number): Buffer {
  return Buffer.concat([key(field, 0), varint(n)]);
}

function doubleField(field: number, x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x, 0);
  return Buffer.concat([key(field, 1), b]);
}

function floatField(field: number, x: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x, 0);
  return Buffer.concat([key(field, 5), b]);
}

function bytesField(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([key(field, 2), varint(bytes.length), bytes]);
}
