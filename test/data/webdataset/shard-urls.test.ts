import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandBraces, expandShardUrls } from '../../../src/data/webdataset/shard-urls.js';
import { parseS3Url, schemeOf } from '../../../src/storage/url.js';

test('expandBraces keeps zero padding of numeric ranges', () => {
  const urls = expandBraces('s3://bucket/cc3m/{000000..000331}.tar');
  assert.equal(urls.length, 332);
  assert.equal(urls[0], 's3://bucket/cc3m/000000.tar');
  assert.equal(urls[331], 's3://bucket/cc3m/000331.tar');
});

test('expandBraces handles lists, several braces and nesting', () => {
  assert.deepEqual(expandBraces('a-{x,y}-{1..2}'), ['a-x-1', 'a-x-2', 'a-y-1', 'a-y-2']);
  assert.deepEqual(expandBraces('{a,b{1..2}}.tar'), ['a.tar', 'b1.tar', 'b2.tar']);
  assert.deepEqual(expandBraces('plain.tar'), ['plain.tar']);
});

test('expandShardUrls concatenates lists and :: joined patterns', () => {
  assert.deepEqual(expandShardUrls(['file:///d/{0..1}.tar', 'http://h/x.tar::s3://b/k.tar']), ['file:///d/0.tar', 'file:///d/1.tar', 'http://h/x.tar', 's3://b/k.tar']);
  assert.throws(() => expandShardUrls([]), { code: 'fiber.config.invalid' });
  assert.throws(() => expandBraces('a{1..2'), { code: 'fiber.config.invalid' });
});

test('schemeOf and parseS3Url', () => {
  assert.equal(schemeOf('s3://b/k'), 's3');
  assert.equal(schemeOf('https://h/k'), 'http');
  assert.equal(schemeOf('/tmp/x.tar'), 'file');
  assert.equal(schemeOf('file:///tmp/x.tar'), 'file');
  assert.throws(() => schemeOf('gs://b/k'), { code: 'fiber.config.invalid' });
  assert.deepEqual(parseS3Url('s3://bucket/a/b.tar'), { bucket: 'bucket', key: 'a/b.tar' });
});
