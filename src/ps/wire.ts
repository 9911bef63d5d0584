import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The parameter server's binary framing. Every message is one frame (little-endian):
 *
 *   offset 0  u32  magic 0x53504246 ("FBPS")
 *          4  u8   protocol version (PROTOCOL_VERSION)
 *          5  u8   message type (MessageType)
 *          6  u16  reserved, 0
 *          8  u32  header length H (UTF-8 JSON of small metadata, <= MAX_HEADER_BYTES)
 *         12  u32  body length B (raw float32 tensor bytes, <= the receiver's maxBodyBytes)
 *         16  H bytes header, then B bytes body
 *
 * Tensor data never goes through JSON: the body is the Float32Array's own bytes, sent without a
 * copy and received into one aligned buffer. Anything else (bad magic, unknown version or type,
 * oversized lengths, a header that is not a JSON object) is a protocol error: the connection is
 * dropped and the peer keeps serving everyone else.
 */
export const MAGIC = 0x53504246;
export const PROTOCOL_VERSION = 1;
export const FRAME_PREFIX_BYTES = 16;
export const MAX_HEADER_BYTES = 64 * 1024;

export enum MessageType {
  /** server -> client on connect: { nonce, shard, protocol } */
  Hello = 1,
  /** client -> server: { mac: hex HMAC-SHA256(token, nonce) } */
  Auth = 2,
  /** server -> client: {} once authenticated */
  AuthOk = 3,
  /** client -> server: { id, run, stage, version, timeoutMs } */
  Pull = 4,
  /** server -> client: { id, version }, body = the shard's parameters at that version */
  Params = 5,
  /** client -> server: { id, run, stage, step, task, samples }, body = summed gradient slice */
  Push = 6,
  /** server -> client: { id, status: PushStatus } */
  PushAck = 7,
  /** either way: { id?, code, message } */
  Error = 8,
}

export type PushStatus = 'accepted' | 'duplicate' | 'stale';

export interface Frame {
  readonly type: MessageType;
  readonly header: Record<string, unknown>;
  /** Aligned to 4 bytes (a fresh buffer), so Float32Array views need no copy. */
  readonly body: Buffer;
}

export class ProtocolError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Header + body as buffers to write in order (the body is not copied). */
export function encodeFrame(type: MessageType, header: Record<string, unknown>, body?: ArrayBufferView): Buffer[] {
  if (!body || body.byteLength === 0) return [Buffer.concat(encodeFrameHead(type, header, 0))];
  return [...encodeFrameHead(type, header, body.byteLength), Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/** Prefix and header of a frame whose `bodyBytes` of body the caller writes after them. */
export function encodeFrameHead(type: MessageType, header: Record<string, unknown>, bodyBytes: number): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new ProtocolError('fiber.ps.header_too_large', `header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const prefix = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  prefix.writeUInt32LE(MAGIC, 0);
  prefix.writeUInt8(PROTOCOL_VERSION, 4);
  prefix.writeUInt8(type, 5);
  prefix.writeUInt16LE(0, 6);
  prefix.writeUInt32LE(json.length, 8);
  prefix.writeUInt32LE(bodyBytes, 12);
  return [prefix, json];
}

/**
 * Where the body of a frame should be written, chosen when its header is in: a buffer of exactly
 * `bodyLen` bytes (a pull's destination, so the body is copied once, not twice), or undefined
 * for a buffer of the decoder's own.
 */
export type BodyTarget = (type: MessageType, header: Record<string, unknown>, bodyLen: number) => Buffer | undefined;

/**
 * Incremental decoder for a byte stream. Feed it socket chunks; it returns whole frames and
 * throws ProtocolError on the first malformed prefix or header. A body is copied once, from the
 * socket's chunks into a buffer of exactly its size, as the chunks arrive: they are copied
 * while still in cache and not held until the frame is whole.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: { type: MessageType; headerLen: number; bodyLen: number; header?: Record<string, unknown>; body?: Buffer; filled: number } | null = null;
  /**
   * Bodies handed back with release(), by size. Fresh multi-MB buffers cost more than the copy
   * into them (the kernel zeroes and maps every page), so steady-state traffic reuses them.
   */
  private readonly pool = new Map<number, Buffer[]>();

  /**
   * @param maxBodyBytes largest body accepted; a server starts a connection at 0 and raises it
   *   once the peer is authenticated, so a stranger cannot make it allocate a body buffer.
   */
  constructor(public maxBodyBytes: number, private readonly bodyTarget?: BodyTarget) {}

  /** Give a frame body (one of the decoder's own) back for reuse once nothing reads it any more. */
  release(body: Buffer): void {
    if (body.length < 1 << 16 || body.byteOffset !== 0) return;
    const free = this.pool.get(body.length) ?? [];
    if (free.length < 2) free.push(body);
    this.pool.set(body.length, free);
  }

  /**
   * Where the socket may write its next bytes itself: the unfilled rest of the body being
   * received, once its header is in and nothing else is buffered; else null (read into a buffer
   * of the socket's and push() it). With net.connect's `onread`, a body then reaches its
   * destination with the kernel's copy alone.
   */
  readTarget(): Buffer | null {
    const p = this.pending;
    if (!p?.body || this.buffered > 0 || p.filled >= p.bodyLen) return null;
    return p.body.subarray(p.filled);
  }

  /** `n` bytes were written by the socket into readTarget()'s buffer: account them. */
  pushDirect(n: number): Frame[] {
    const p = this.pending;
    if (!p?.body || this.buffered > 0 || n > p.bodyLen - p.filled) throw new ProtocolError('fiber.ps.internal', 'bytes written outside the body being received');
    p.filled += n;
    return this.push(null);
  }

  push(chunk: Buffer | null): Frame[] {
    if (chunk) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (!this.pending) {
        if (this.buffered < FRAME_PREFIX_BYTES) break;
        this.pending = { ...this.readPrefix(this.take(FRAME_PREFIX_BYTES)), filled: 0 };
      }
      const p = this.pending;
      if (!p.header) {
        if (this.buffered < p.headerLen) break;
        p.header = this.parseHeader(this.take(p.headerLen));
        // 8-byte aligned (pooled or fresh), so Float32Array views need no copy.
        const target = p.bodyLen > 0 ? this.bodyTarget?.(p.type, p.header, p.bodyLen) : undefined;
        p.body = p.bodyLen === 0 ? Buffer.alloc(0)
          : target?.length === p.bodyLen ? target
          : this.pool.get(p.bodyLen)?.pop() ?? Buffer.allocUnsafeSlow(p.bodyLen);
      }
      if (p.filled < p.bodyLen) {
        const n = Math.min(this.buffered, p.bodyLen - p.filled);
        this.copyOut(p.body!, p.filled, n);
        p.filled += n;
        if (p.filled < p.bodyLen) break;
      }
      frames.push({ type: p.type, header: p.header, body: p.body! });
      this.pending = null;
    }
    return frames;
  }

  private parseHeader(bytes: Buffer): Record<string, unknown> {
    let header: unknown;
    try {
      header = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ProtocolError('fiber.ps.bad_header', 'frame header is not JSON');
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ProtocolError('fiber.ps.bad_header', 'frame header is not a JSON object');
    return header as Record<string, unknown>;
  }

  private readPrefix(p: Buffer): { type: MessageType; headerLen: number; bodyLen: number } {
    if (p.readUInt32LE(0) !== MAGIC) throw new ProtocolError('fiber.ps.bad_magic', 'not a fiber parameter-server frame');
    const version = p.readUInt8(4);
    if (version !== PROTOCOL_VERSION) throw new ProtocolError('fiber.ps.bad_version', `protocol version ${version}, expected ${PROTOCOL_VERSION}`);
    const type = p.readUInt8(5);
    if (!(type in MessageType)) throw new ProtocolError('fiber.ps.bad_type', `unknown message type ${type}`);
    const headerLen = p.readUInt32LE(8);
    const bodyLen = p.readUInt32LE(12);
    if (headerLen > MAX_HEADER_BYTES) throw new ProtocolError('fiber.ps.bad_length', `header length ${headerLen} exceeds ${MAX_HEADER_BYTES}`);
    if (bodyLen > this.maxBodyBytes) throw new ProtocolError('fiber.ps.bad_length', `body length ${bodyLen} exceeds ${this.maxBodyBytes}`);
    if (bodyLen % 4 !== 0) throw new ProtocolError('fiber.ps.bad_length', `body length ${bodyLen} is not a whole number of float32`);
    return { type: type as MessageType, headerLen, bodyLen };
  }

  /** Consume n bytes (small: prefixes and headers). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.consume(n);
      return out;
    }
    return this.copyOut(Buffer.allocUnsafe(n), 0, n);
  }

  /** Consume n buffered bytes into dst at offset `at`. */
  private copyOut(dst: Buffer, at: number, n: number): Buffer {
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(dst, at + off, 0, k);
      off += k;
      this.consume(k);
    }
    return dst;
  }

  private consume(n: number): void {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
  }
}

/** Float32 view of a frame body (no copy). */
export function bodyAsFloat32(body: Buffer): Float32Array {
  return new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4);
}

/** The handshake proof: the token never crosses the wire, only an HMAC of the server's nonce. */
export function authMac(token: string, nonce: string): string {
  return createHmac('sha256', token).update(nonce).digest('hex');
}

export function macMatches(token: string, nonce: string, mac: unknown): boolean {
  if (typeof mac !== 'string' || mac.length !== 64) return false;
  const expected = Buffer.from(authMac(token, nonce), 'hex');
  const given = Buffer.from(mac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The JSON headers of the two requests a shard serves, parsed where the shard reads them (the
 * framing above only guarantees a JSON object). The body of a push is the gradient slice.
 */
export const pullHeaderSchema = z.object({
  id: z.number(),
  run: z.string(),
  stage: z.string(),
  version: z.number().int().nonnegative(),
  timeoutMs: z.number().nonnegative().default(60_000),
});
export const pushHeaderSchema = z.object({
  id: z.number(),
  run: z.string(),
  stage: z.string(),
  step: z.number().int().nonnegative(),
  task: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
});

/** A shard's answer to a push: whether the contribution counted (PushStatus). */
export const pushAckSchema = z.object({ id: z.number(), status: z.enum(['accepted', 'duplicate', 'stale']), version: z.number() });

/** The schema's issues in one line, for an Error frame. */
export function headerProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(header)'}: ${i.message}`).join('; ');
}
