import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeLayers, parseSetOverrides } from '../../src/config/overrides.js';

describe('parseSetOverrides', () => {
  const table: Array<[string, unknown, string]> = [
    ['a=3', 3, 'integers'],
    ['a=1e-4', 1e-4, 'exponent floats'],
    ['a=true', true, 'booleans'],
    ['a=null', null, 'null'],
    ['a=[2,2,6,2]', [2, 2, 6, 2], 'flow lists'],
    ['a=s3://b/{000..009}.tar', 's3://b/{000..009}.tar', 'URLs with braces stay strings'],
    ['a=x: y', 'x: y', 'mapping-looking text stays a string'],
    ['a=', '', 'empty value'],
    ['a=fiber-tiny', 'fiber-tiny', 'plain words'],
  ];
  for (const [input, expected, why] of table) {
    it(why, () => assert.deepEqual(parseSetOverrides([input]), { a: expected }));
  }

  it('nests dotted paths and merges repeated sets', () => {
    assert.deepEqual(parseSetOverrides(['x.y.z=1', 'x.y.w=2', 'x.v=3']), { x: { y: { z: 1, w: 2 }, v: 3 } });
  });

  it('rejects input without key=value', () => {
    for (const bad of ['novalue', '=3', '.a=1', 'a..b=1', 'a b=1']) assert.throws(() => parseSetOverrides([bad]), /key.path=value/);
  });
});

describe('mergeLayers', () => {
  it('merges objects deeply and replaces arrays and scalars', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 1 };
    const out = mergeLayers(base, { a: { c: [3] }, d: { e: 1 } });
    assert.deepEqual(out, { a: { b: 1, c: [3] }, d: { e: 1 } });
    assert.deepEqual(base, { a: { b: 1, c: [1, 2] }, d: 1 }, 'inputs untouched');
  });
});
