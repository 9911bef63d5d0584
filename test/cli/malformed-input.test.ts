import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runFiber } from '../helpers/cli.js';
import { snapshotKeys, startRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * Every bad config or flag exits 2 with a message that names the problem, and leaves Redis
 * exactly as it was: the built binary against a real redis-server.
 */
describe('fiber pretrain: malformed input exits 2 and touches nothing', () => {
  let server: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'fiber-cfg-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const ok = ['--preset', 'fiber-tiny', '--set', 'data.coarse.shards=s3://b/{0..3}.tar'];

  before(async () => {
    server = await startRedis();
    // One existing run, so "different config under an existing name" has something to hit.
    const seeded = await runFiber(['pretrain', '--stage', 'coarse', ...ok, '--run', 'taken'], { FIBER_REDIS_URL: server.url });
    assert.equal(seeded.code, 0, seeded.stderr);
  });
  after(() => server.close());

  const cases: Array<{ why: string; args: () => string[]; stderr: RegExp; env?: Record<string, string>; code?: number }> = [
    { why: 'unknown stage', args: () => ['pretrain', '--stage', 'medium', ...ok], stderr: /--stage.*medium.*coarse, fine|Allowed choices are coarse, fine/ },
    { why: 'missing --stage', args: () => ['pretrain', ...ok], stderr: /required option '--stage <stage>'/ },
    { why: 'unknown flag', args: () => ['pretrain', '--stage', 'coarse', '--epochs', '3', ...ok], stderr: /unknown option '--epochs'/ },
    { why: 'unknown preset', args: () => ['pretrain', '--stage', 'coarse', '--preset', 'fiber-xl'], stderr: /fiber-xl.*Allowed choices are fiber-base, fiber-small, fiber-tiny/ },
    { why: 'unknown config key', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'optimizer.coarse.momentum=0.9'], stderr: /optimizer\.coarse\.momentum: unknown key/ },
    { why: 'wrong type', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'seed=abc'], stderr: /seed: .*expected number/ },
    { why: 'negative batch', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'batch.coarse.globalBatch=-16'], stderr: /batch\.coarse\.globalBatch: .*>0/ },
    { why: 'global batch not divisible by micro-batch x tasks', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'batch.coarse.globalBatch=20'], stderr: /batch\.coarse\.globalBatch: 20 is not divisible by microBatch x tasksPerStep = 4 x 2 = 8/ },
    { why: 'no shards for the stage', args: () => ['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny'], stderr: /data\.coarse\.shards: no shards/ },
    { why: 'malformed --set', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'lr'], stderr: /--set: expected key\.path=value/ },
    { why: 'missing config file', args: () => ['pretrain', '--stage', 'coarse', '--config', join(dir, 'nope.yaml')], stderr: /--config: cannot read .*nope\.yaml \(no such file\)/ },
    { why: 'invalid YAML', args: () => ['pretrain', '--stage', 'coarse', '--config', file('bad.yaml', 'seed: [1, 2\nmodel: x\n')], stderr: /--config: .*bad\.yaml is not valid YAML/ },
    { why: 'invalid JSON', args: () => ['pretrain', '--stage', 'coarse', '--config', file('bad.json', '{"seed": 1,}')], stderr: /--config: .*bad\.json is not valid JSON/ },
    { why: 'config file that is a list', args: () => ['pretrain', '--stage', 'coarse', '--config', file('list.yaml', '- 1\n- 2\n')], stderr: /must hold a mapping/ },
    { why: 'unknown key inside the file', args: () => ['pretrain', '--stage', 'coarse', '--config', file('typo.yaml', 'preset: fiber-tiny\ndata:\n  coarse:\n    shard: s3://b/0.tar\n')], stderr: /data\.coarse\.shard: unknown key.*accepted: shards, weights/ },
    // One image size (docs/decisions.md): the removed duplicate used to pass --dry-run and fail at the first task.
    { why: 'the removed data.coarse.imageSize (--dry-run)', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'data.coarse.imageSize=96', '--dry-run'], stderr: /fiber: data\.coarse\.imageSize: was removed: coarse images are resized to model\.imageSize.*set model\.imageSize instead/ },
    { why: 'the removed data.coarse.imageSize in a file (--dry-run)', args: () => ['pretrain', '--stage', 'coarse', '--dry-run', '--config', file('old.yaml', 'preset: fiber-tiny\ndata:\n  coarse:\n    shards: s3://b/0.tar\n    imageSize: 64\n')], stderr: /data\.coarse\.imageSize: was removed/ },
    { why: 'invalid run name', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--run', 'My_Run'], stderr: /--run "My_Run": use 1-63 lowercase/ },
    { why: 'fine stage of an unknown run', args: () => ['pretrain', '--stage', 'fine', ...ok, '--set', 'data.fine.shards=s3://b/f.tar', '--run', 'ghost'], stderr: /run "ghost" has no coarse stage/ },
    { why: 'different config under an existing run name', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--set', 'seed=3', '--run', 'taken'], stderr: /run "taken" exists with a different config/ },
    { why: 'unsupported --init scheme', args: () => ['pretrain', '--stage', 'fine', ...ok, '--set', 'data.fine.shards=s3://b/f.tar', '--init', 'ftp://x/y'], stderr: /--init "ftp:\/\/x\/y"/ },
    // Not input to fix but a service not up yet: 75 (EX_TEMPFAIL), which a Kubernetes Job retries.
    { why: 'unreachable Redis (exit 75)', args: () => ['pretrain', '--stage', 'coarse', ...ok, '--redis-url', 'redis://127.0.0.1:1'], stderr: /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/, code: 75 },
    { why: 'Redis URL that is not a URL', args: () => ['status', '--redis-url', 'localhost 6379'], stderr: /is not a URL/ },
    { why: 'status of an unknown run', args: () => ['status', 'ghost'], stderr: /no run named "ghost"/ },
    { why: 'cancel of an unknown run', args: () => ['cancel', 'ghost'], stderr: /no run named "ghost"/ },
    { why: 'bad --interval', args: () => ['status', '--watch', '--interval', '0'], stderr: /expected a number of seconds > 0/ },
    { why: 'unknown command', args: () => ['pretrian'], stderr: /unknown command 'pretrian'/ },
  ];

  for (const c of cases) {
    it(c.why, async () => {
      const before = await snapshotKeys(server.client);
      const res = await runFiber(c.args(), { FIBER_REDIS_URL: server.url, ...c.env });
      assert.equal(res.code, c.code ?? 2, `exit code\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
      assert.match(res.stderr, c.stderr);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace without --verbose');
      assert.equal(res.stdout, '', 'nothing on stdout');
      assert.deepEqual(await snapshotKeys(server.client), before, 'Redis untouched');
    });
  }

  it('prints the stack with --verbose', async () => {
    const res = await runFiber(['pretrain', '--stage', 'coarse', '--verbose', ...ok, '--set', 'seed=abc'], { FIBER_REDIS_URL: server.url });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /\n\s+at /);
  });
});
