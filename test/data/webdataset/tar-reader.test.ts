import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadSampleCounter } from '../../../src/data/bad-sample.js';
import { readSamples, splitKey } from '../../../src/data/webdataset/raw-sample.js';
import { readTarMembers } from '../../../src/data/webdataset/tar-reader.js';
import { tarEnd, tarEntry } from '../../../src/data/webdataset/tar-writer.js';

const shard = Buffer.concat([
  tarEntry('a/000.jpg', Buffer.from('JPEG0')),
  tarEntry('a/000.txt', Buffer.from('a cat')),
  tarEntry('a/001.jpg', Buffer.alloc(700, 1)),
  tarEntry('a/001.seg.png', Buffer.from('PNG')),
  tarEntry('__meta__.json', Buffer.from('{}')),
  tarEntry('a/002.txt', Buffer.from('x')),
  tarEnd(),
]);

/** Feed the bytes in awkward chunk sizes, as a network would. */
function* chunked(b: Buffer, size = 333): Iterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('splitKey follows webdataset: key up to the first dot of the basename', () => {
  assert.deepEqual(splitKey('a/b.seg.PNG'), { key: 'a/b', ext: 'seg.png' });
  assert.deepEqual(splitKey('x.y/abc.jpg'), { key: 'x.y/abc', ext: 'jpg' });
  assert.equal(splitKey('noext'), undefined);
});

test('members carry offsets whose ranges re-parse on their own', async () => {
  const members = await collect(readTarMembers(chunked(shard)));
  assert.deepEqual(members.map((m) => m.name), ['a/000.jpg', 'a/000.txt', 'a/001.jpg', 'a/001.seg.png', '__meta__.json', 'a/002.txt']);
  const m = members[2]!;
  assert.equal(m.size, 700);
  assert.deepEqual(shard.subarray(m.dataOffset, m.dataOffset + m.size), Buffer.alloc(700, 1));
});

test('samples are grouped by key, meta members skipped, ranges are self-contained tar fragments', async () => {
  const bad = new BadSampleCounter();
  const samples = await collect(readSamples(chunked(shard, 100), 'mem', bad));
  assert.deepEqual(samples.map((s) => s.key), ['a/000', 'a/001', 'a/002']);
  assert.deepEqual([...samples[1]!.files.keys()], ['jpg', 'seg.png']);
  const s1 = samples[1]!;
  const again = await collect(readSamples([shard.subarray(s1.offset, s1.offset + s1.size)], 'mem', bad, s1.offset));
  assert.equal(again.length, 1);
  assert.equal(again[0]!.key, 'a/001');
  assert.equal(again[0]!.offset, s1.offset);
  assert.equal(bad.total, 0);
});

test('truncated and corrupted archives keep the good prefix and count the damage', async () => {
  const bad = new BadSampleCounter();
  // Cut inside a/001.jpg's data: a/000 is complete, a/001 is reported.
  const truncated = await collect(readSamples([shard.subarray(0, 2048 + 512 + 300)], 'cut', bad));
  assert.deepEqual(truncated.map((s) => s.key), ['a/000']);
  assert.equal(bad.counts.truncated_tar, 1);
  assert.equal(bad.reports.at(-1)?.key, 'a/001');
  // Flip a byte in the header of a/001.seg.png: a/001 may be incomplete, so it is dropped too.
  const flipped = Buffer.from(shard);
  const at = 2048 + 512 + 1024 + 10;
  flipped[at] = (flipped[at] ?? 0) ^ 0xff;
  const partial = await collect(readSamples([flipped], 'flip', bad));
  assert.deepEqual(partial.map((s) => s.key), ['a/000']);
  assert.equal(bad.counts.corrupt_tar, 1);
  assert.equal(bad.reports.at(-1)?.shard, 'flip');
  assert.equal(bad.reports.at(-1)?.key, 'a/001');
});

test('a duplicate extension in one sample is reported, the rest kept', async () => {
  const bad = new BadSampleCounter();
  const dup = Buffer.concat([tarEntry('k.txt', Buffer.from('1')), tarEntry('k.txt', Buffer.from('2')), tarEntry('m.txt', Buffer.from('3')), tarEnd()]);
  const samples = await collect(readSamples([dup], 'dup', bad));
  assert.deepEqual(samples.map((s) => s.key), ['m']);
  assert.equal(bad.counts.duplicate_member, 1);
});
