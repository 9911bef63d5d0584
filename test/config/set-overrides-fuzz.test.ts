import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { ConfigError, isFiberError } from '../../src/errors/index.js';
import { runFiber } from '../helpers/cli.js';
import { seededRandom } from '../helpers/fuzz.js';

/**
 * Seeded fuzzing of `--set`: random keys (real config paths, near misses, junk) with random
 * values. Each must resolve, or fail with a ConfigError naming a field; through the CLI, exit 2
 * with that message and never a stack trace.
 */
function leaves(o: unknown, prefix = ''): string[] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}
const paths = leaves(resolveRunConfig({ preset: 'fiber-tiny' }));
const VALUES = ['0', '-1', '1e309', '3.5', 'NaN', '.inf', 'true', 'null', '[]', '[1,"a"]', '{}', '"{a: 1}"', '99999999999999999999', 'fiber-tiny', 's3://b/{0..3}.tar', '', 'x'.repeat(300), '[[[[1]]]]', '~', '0x1F', '2026-12-05'];

function randomSet(rnd: () => number): string {
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const r = rnd();
  const key = r < 0.6 ? pick(paths)
    : r < 0.8 ? `${pick(paths)}.${pick(['x', 'coarse', '__proto__', 'constructor'])}`
      : r < 0.9 ? pick(paths).split('.').slice(0, -1).join('.') || 'batch'
        : pick(['__proto__.polluted', 'constructor.prototype.x', 'nope', 'model.nope', 'batch.middle.globalBatch']);
  return `${key}=${pick(VALUES)}`;
}

describe('--set fuzzing (seeded)', () => {
  it('random overrides resolve or fail with a ConfigError naming a field', () => {
    const rnd = seededRandom(17);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const sets = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => randomSet(rnd));
      try {
        resolveRunConfig({ preset: 'fiber-tiny', sets });
      } catch (err) {
        assert.ok(err instanceof ConfigError, `case ${i} ${JSON.stringify(sets)} threw ${(err as Error).name}: ${(err as Error).message}`);
        assert.ok(err.field.length > 0 && err.message.includes(err.field), `case ${i}: the message names the field: ${err.message}`);
        refused++;
      }
    }
    assert.ok(refused > 100, `most random overrides are refused (${refused})`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  });

  it('through the CLI: exit 2, the field named, no stack trace', async () => {
    const rnd = seededRandom(18);
    const cases: string[] = [];
    while (cases.length < 4) {
      const set = randomSet(rnd);
      try { resolveRunConfig({ preset: 'fiber-tiny', sets: [set] }); } catch (err) { if (isFiberError(err)) cases.push(set); }
    }
    for (const set of cases) {
      const r = await runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--dry-run', '--set', set]);
      assert.equal(r.code, 2, `${set}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${set}: no stack trace`);
      assert.match(r.stderr, /[a-zA-Z_]+(\.[\w]+)*: /, `${set}: ${r.stderr}`);
    }
  });
});
