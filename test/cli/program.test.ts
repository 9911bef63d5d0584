import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIBER_VERSION } from '../../src/cli/program.js';
import { REPO_ROOT, runFiber } from '../helpers/cli.js';

/**
 * A resolve hook that reports every module URL the process loads (ESM imports, and the
 * entry points of CommonJS packages imported from ESM) on stderr, prefixed so we can find them.
 */
const TRACE_HOOK = 'data:text/javascript,' + encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  import { writeSync } from 'node:fs';
  export async function resolve(specifier, context, next) {
    const r = await next(specifier, context);
    writeSync(2, 'LOADED ' + r.url + '\\\\n');
    return r;
  }\`));
`);

describe('fiber program', () => {
  it('--help lists the commands and loads neither TensorFlow.js, the AWS SDK, BullMQ nor ioredis', async () => {
    const res = await runFiber(['--help'], {}, { nodeArgs: ['--import', TRACE_HOOK] });
    assert.equal(res.code, 0, res.stderr);
    for (const cmd of ['pretrain', 'status', 'dashboard', 'cancel', 'report']) assert.match(res.stdout, new RegExp(`\\n  ${cmd}`));
    const loaded = res.stderr.split('\n').filter((l) => l.startsWith('LOADED '));
    assert.ok(loaded.some((l) => l.includes('/commander/')), 'the trace hook works (commander is seen)');
    const heavy = loaded.filter((l) => /@tensorflow|@aws-sdk|\/bullmq\/|\/ioredis\/|\/sharp\//.test(l));
    assert.deepEqual(heavy, []);
  });

  it('each command has --help', async () => {
    for (const cmd of ['pretrain', 'status', 'dashboard', 'cancel', 'report']) {
      const res = await runFiber([cmd, '--help']);
      assert.equal(res.code, 0, `${cmd}: ${res.stderr}`);
      assert.match(res.stdout, new RegExp(`Usage: fiber ${cmd}`));
    }
  });

  it('--version matches package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(FIBER_VERSION, pkg.version);
    const res = await runFiber(['--version']);
    assert.equal(res.code, 0);
    assert.equal(res.stdout.trim(), pkg.version);
  });

  it('with no command prints help on stderr and exits 2', async () => {
    const res = await runFiber([]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /Usage: fiber/);
  });
});
