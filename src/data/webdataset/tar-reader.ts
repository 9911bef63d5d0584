/**
 * A streaming POSIX tar reader that also reports where each member sits in the archive, which the
 * shard index needs (tar-stream and friends hide offsets). Supports ustar names with prefix,
 * GNU long names (type L) and pax `path` records (type x); other non-file members are skipped.
 *
 * Tar is 512-byte blocks: a header block, then the data padded to a block boundary. The stream may
 * end cleanly at a header boundary without the two zero blocks: a ranged read of some samples is
 * such a fragment, and parses with the same code.
 */

const BLOCK = 512;

/** One regular file in the archive. Offsets are relative to the start of the bytes parsed. */
export interface TarMember {
  readonly name: string;
  /** Offset of this member's first header block (including any long-name / pax blocks). */
  readonly headerOffset: number;
  /** Offset of the first data byte. */
  readonly dataOffset: number;
  readonly size: number;
  /** Offset just past the padded data: the next member's header. */
  readonly endOffset: number;
  readonly data: Buffer;
}

/** The archive is damaged from `offset` on; nothing after it can be trusted. */
export class TarFormatError extends Error {
  /** `member`: the member being read, when its header was intact. */
  constructor(readonly reason: 'corrupt_tar' | 'truncated_tar', message: string, readonly offset: number, readonly member?: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** Parse tar members from a chunk stream. `baseOffset` is added to every offset (for ranged fragments). */
export async function* readTarMembers(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, baseOffset = 0): AsyncGenerator<TarMember> {
  const q = new ByteQueue(chunks);
  try {
    yield* members(q, baseOffset);
  } finally {
    // A consumer that stops early (inspect --n) must release the source (socket, file handle).
    await q.close();
  }
}

async function* members(q: ByteQueue, baseOffset: number): AsyncGenerator<TarMember> {
  let pos = 0;
  let longName: string | undefined;
  let memberStart: number | undefined;
  for (;;) {
    const header = await q.take(BLOCK);
    if (header === undefined) return; // clean end at a block boundary
    if (header.length < BLOCK) throw new TarFormatError('truncated_tar', `archive ends inside a header at byte ${baseOffset + pos}`, baseOffset + pos);
    const headerOffset = pos;
    pos += BLOCK;
    if (isZero(header)) return; // end-of-archive marker
    if (!checksumOk(header)) throw new TarFormatError('corrupt_tar', `bad header checksum at byte ${baseOffset + headerOffset}`, baseOffset + headerOffset);
    const size = parseOctal(header, 124, 12);
    if (size < 0) throw new TarFormatError('corrupt_tar', `bad size field at byte ${baseOffset + headerOffset}`, baseOffset + headerOffset);
    const type = String.fromCharCode(header[156] ?? 0);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const body = await q.take(padded);
    if (padded > 0 && (body === undefined || body.length < padded)) {
      const name = longName ?? ustarName(header);
      throw new TarFormatError('truncated_tar', `archive ends inside member ${name} at byte ${baseOffset + pos}`, baseOffset + pos, name);
    }
    const dataOffset = pos;
    pos += padded;
    const data = (body ?? Buffer.alloc(0)).subarray(0, size);
    memberStart ??= headerOffset;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'g') {
      memberStart = undefined;
      continue;
    }
    const start = memberStart;
    memberStart = undefined;
    const name = longName ?? ustarName(header);
    longName = undefined;
    if (type !== '0' && type !== '\0' && type !== '7') continue; // dirs, links, devices
    yield { name, headerOffset: baseOffset + start, dataOffset: baseOffset + dataOffset, size, endOffset: baseOffset + pos, data };
  }
}

function ustarName(h: Buffer): string {
  const name = cString(h, 0, 100);
  const magic = h.toString('latin1', 257, 262);
  const prefix = magic === 'ustar' ? cString(h, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function paxPath(data: Buffer): string | undefined {
  // Records are "<len> key=value\n".
  let i = 0;
  let path: string | undefined;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(data.toString('latin1', i, space));
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.toString('utf8', space + 1, i + len - 1);
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    i += len;
  }
  return path;
}

function cString(b: Buffer, start: number, len: number): string {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
}

function parseOctal(b: Buffer, start: number, len: number): number {
  // GNU base-256 for sizes >= 8 GiB: high bit of the first byte set.
  if (((b[start] ?? 0) & 0x80) !== 0) {
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + (b[i] ?? 0);
    return v;
  }
  const s = b.toString('latin1', start, start + len).replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return -1;
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseOctal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  return stored === sum;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Pulls exact-size pieces out of a chunk stream without copying the whole stream. */
class ByteQueue {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }

  /** Exactly n bytes; fewer only at the end of the stream; undefined if nothing is left. */
  async take(n: number): Promise<Buffer | undefined> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    if (this.buffered === 0) return n === 0 ? Buffer.alloc(0) : undefined;
    const want = Math.min(n, this.buffered);
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length >= want) {
      out = first.subarray(0, want);
      if (first.length === want) this.chunks.shift();
      else this.chunks[0] = first.subarray(want);
    } else {
      out = Buffer.allocUnsafe(want);
      let filled = 0;
      while (filled < want) {
        const c = this.chunks[0] as Buffer;
        const k = Math.min(c.length, want - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= want;
    return out;
  }
}
