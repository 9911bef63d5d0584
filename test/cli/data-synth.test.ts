import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFiber } from '../helpers/cli.js';

let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fiber-synth-cli-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('fiber data synth writes indexed coarse and fine shards to a file:// folder and prints their patterns', async () => {
  const out = `file://${tmp}/shapes`;
  const r = await runFiber(['data', 'synth', '--out', out, '--count', '12', '--seed', '5', '--samples-per-shard', '5', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as Record<'coarse' | 'fine', { samples: number; pattern: string }> & { missingImages: string[] };
  assert.deepEqual([result.coarse.samples, result.fine.samples, result.missingImages], [12, 12, []]);
  assert.equal(result.coarse.pattern, `${out}/coarse/{000000..000002}.tar`);
  assert.equal(result.fine.pattern, `${out}/fine/{000000..000002}.tar`);
  for (const stage of ['coarse', 'fine']) {
    const names = (await readdir(join(tmp, 'shapes', stage))).sort();
    assert.deepEqual(names, ['000000.tar', '000000.tar.index.json', '000001.tar', '000001.tar.index.json', '000002.tar', '000002.tar.index.json']);
  }

  const text = await runFiber(['data', 'synth', '--out', join(tmp, 'plain'), '--count', '3']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^coarse: 3 samples in 1 shards .*\n {2}.*plain\/coarse\/000000\.tar\nfine: 3 samples in 1 shards/);
});

test('fiber data synth: bad flags are usage errors (exit 2) naming the flag', async () => {
  for (const [args, flag] of [[['--count', '0'], /--count/], [['--size', '16'], /--size/], [['--seed', '-1'], /--seed/]] as const) {
    const r = await runFiber(['data', 'synth', '--out', join(tmp, 'bad'), ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, flag);
  }
  const missing = await runFiber(['data', 'synth', '--count', '4']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--out/);
});
