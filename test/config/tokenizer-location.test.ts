import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configHash, parseStoredRunConfig, resolveRunConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { runFiber } from '../helpers/cli.js';
import { robertaBaseDir } from '../helpers/roberta-base.js';

const roberta = robertaBaseDir();

describe('data.tokenizer in the run config', () => {
  it('defaults to "default" in every preset, and takes a folder or URL from --set or a file', () => {
    assert.equal(resolveRunConfig({}).data.tokenizer, 'default');
    assert.equal(resolveRunConfig({ preset: 'fiber-tiny' }).data.tokenizer, 'default');
    for (const v of ['s3://models/roberta-base', 'file:///opt/roberta-base/', 'https://host/roberta-base', './roberta-base', '/opt/tok/tokenizer.json']) {
      assert.equal(resolveRunConfig({ sets: [`data.tokenizer=${v}`] }).data.tokenizer, v);
    }
    assert.equal(resolveRunConfig({ file: { data: { tokenizer: 's3://m/rb' } } }).data.tokenizer, 's3://m/rb');
  });

  it('is part of the config hash: another location is another run', () => {
    assert.notEqual(configHash(resolveRunConfig({ sets: ['data.tokenizer=s3://m/a'] })), configHash(resolveRunConfig({ sets: ['data.tokenizer=s3://m/b'] })));
  });

  const bad: Array<[string, RegExp]> = [
    ['ftp://host/roberta', /unsupported scheme ftp:\/\//],
    ['s3://', /names no bucket/],
    ['./roberta-base/vocab.json', /vocab\.json is one of the two files; give the folder/],
    ['s3://m/rb/merges.txt', /merges\.txt is one of the two files/],
    ['""', /must be "default" or a folder\/URL/],
    ['3', /expected string/],
  ];
  for (const [value, message] of bad) {
    it(`refuses data.tokenizer=${value} naming the field`, () => {
      assert.throws(() => resolveRunConfig({ sets: [`data.tokenizer=${value}`] }), (err: unknown) => err instanceof ConfigError && err.field === 'data.tokenizer' && message.test(err.message) && err.message.startsWith('data.tokenizer: '));
    });
  }

  it('a config stored before data.tokenizer existed reads back as the default tokenizer (what it trained with)', () => {
    const stored = JSON.parse(JSON.stringify(resolveRunConfig({ preset: 'fiber-tiny' }))) as { data: Record<string, unknown> };
    delete stored.data.tokenizer;
    assert.equal(parseStoredRunConfig(stored).data.tokenizer, 'default');
    assert.equal(parseStoredRunConfig({ ...stored, data: { ...stored.data, tokenizer: 's3://m/rb' } }).data.tokenizer, 's3://m/rb');
  });
});

describe('fiber pretrain with data.tokenizer (real CLI)', () => {
  const submit = ['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--set', 'data.coarse.shards=s3://b/c/{0..3}.tar', '--dry-run', '--json'];
  const env = { FIBER_REDIS_URL: 'redis://127.0.0.1:1' };

  it('a bad value exits 2 naming data.tokenizer', async () => {
    const res = await runFiber([...submit, '--set', 'data.tokenizer=ftp://host/roberta'], env);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /data\.tokenizer: unsupported scheme ftp:\/\//);
  });

  it('a reachable tokenizer is checked against model.vocabSize before anything is queued', { skip: roberta.skip }, async () => {
    const ok = await runFiber([...submit, '--set', `data.tokenizer=${roberta.dir}`], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { config: { data: { tokenizer: string } } }).config.data.tokenizer, roberta.dir);
    const small = await runFiber([...submit, '--set', `data.tokenizer=${roberta.dir}`, '--set', 'model.vocabSize=50000'], env);
    assert.equal(small.code, 2, small.stderr);
    assert.match(small.stderr, /data\.tokenizer: .* has ids up to 50264 but model\.vocabSize is 50000/);
  });

  it('a tokenizer this machine cannot read is left to the coordinator (a warning, no error)', async () => {
    const res = await runFiber([...submit, '--set', 'data.tokenizer=/nonexistent/roberta-base'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /not readable from here; the coordinator checks it at stage start/);
  });
});
