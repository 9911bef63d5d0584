import { crc32 } from 'node:zlib';
import type { BadSampleCounter } from '../bad-sample.js';
import { readTarMembers, TarFormatError, type TarMember } from './tar-reader.js';

/** One webdataset sample as stored: its files by extension, and where it sits in its shard. */
export interface RawSample {
  /** Basename up to the first dot, with its folder: `a/b.seg.png` -> `a/b`. */
  readonly key: string;
  readonly shard: string;
  /** Byte offset of the sample's first header in the shard. */
  readonly offset: number;
  /** Bytes from `offset` to the end of the sample's last member (headers and padding included). */
  readonly size: number;
  /** Member data by lower-cased extension (`jpg`, `txt`, `json`, `seg.png`). */
  readonly files: ReadonlyMap<string, Buffer>;
}

/** webdataset's rule: key = path up to the first dot of the last path component. */
export function splitKey(name: string): { key: string; ext: string } | undefined {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot < 0 || dot === slash + 1) return undefined;
  return { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

/**
 * Group consecutive tar members into samples, as webdataset's `group_by_keys` does. Meta members
 * (`__x__`) and names without an extension are skipped; a damaged archive ends the stream after
 * reporting it, keeping every sample read before the damage.
 */
export async function* readSamples(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  shard: string,
  bad: BadSampleCounter,
  baseOffset = 0,
): AsyncGenerator<RawSample> {
  let current: { key: string; offset: number; end: number; files: Map<string, Buffer>; duplicate: boolean } | undefined;
  const finish = (): RawSample | undefined => {
    const c = current;
    current = undefined;
    if (!c) return undefined;
    if (c.duplicate) {
      bad.add({ reason: 'duplicate_member', shard, key: c.key });
      return undefined;
    }
    return { key: c.key, shard, offset: c.offset, size: c.end - c.offset, files: c.files };
  };
  try {
    for await (const m of readTarMembers(chunks, baseOffset)) {
      const parts = splitMember(m);
      if (!parts) continue;
      if (current && current.key !== parts.key) {
        const s = finish();
        if (s) yield s;
      }
      current ??= { key: parts.key, offset: m.headerOffset, end: m.endOffset, files: new Map(), duplicate: false };
      if (current.files.has(parts.ext)) current.duplicate = true;
      current.files.set(parts.ext, m.data);
      current.end = m.endOffset;
    }
  } catch (err) {
    if (!(err instanceof TarFormatError)) throw err;
    // If the damaged member starts a new key, the sample before it is complete; otherwise (or if
    // we cannot tell, as with a corrupt header) it may be missing members: report, never yield half.
    const damagedKey = err.member === undefined ? undefined : splitKey(err.member)?.key;
    if (current && damagedKey !== undefined && damagedKey !== current.key) {
      const s = finish();
      if (s) yield s;
    }
    bad.add({ reason: err.reason, shard, key: current?.key ?? damagedKey ?? `@${err.offset}`, detail: err.message });
    current = undefined;
    return;
  }
  const last = finish();
  if (last) yield last;
}

function splitMember(m: TarMember): { key: string; ext: string } | undefined {
  const base = m.name.slice(m.name.lastIndexOf('/') + 1);
  if (/^__[^/]*__/.test(base)) return undefined;
  return splitKey(m.name);
}

/**
 * CRC-32 of a sample's member data, in tar order (headers excluded, so it does not depend on
 * how the tar was written). Stored in the index; checked on every indexed read.
 */
export function sampleCrc32(files: ReadonlyMap<string, Uint8Array>): number {
  let crc = 0;
  for (const data of files.values()) crc = crc32(data, crc);
  return crc >>> 0;
}
