import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { configHash, resolveRunConfig } from '../../src/config/index.js';
import { RunRegistry } from '../../src/queue/run-registry.js';
import { FIBER_BIN, REPO_ROOT, runFiber } from '../helpers/cli.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { colorEnabled } from '../../src/cli/terminal.js';
import { exitCodeFor } from '../../src/cli/main.js';
import { ConfigError, ConnectionError, StorageError } from '../../src/errors/index.js';

/**
 * Spawn `fiber args` with stdout piped into a reader that takes `keep` lines and then closes the
 * pipe (as `| head -n keep` does). Resolves with the lines read, the exit code and stderr.
 */
function readThenClose(args: string[], env: Record<string, string>, keep: number): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIBER_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    const lines: string[] = [];
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0 && lines.length < keep; i = buf.indexOf('\n')) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (lines.length >= keep) child.stdout.destroy();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ lines, code, stderr });
    });
  });
}

describe('CLI hygiene: closed pipes, colours, NDJSON, exit codes', () => {
  let server: TestRedis;
  const env = () => ({ FIBER_REDIS_URL: server.url });

  before(async () => {
    server = await startRedis();
    const config = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.coarse.shards=s3://b/{0..1}.tar'] });
    const registry = new RunRegistry(server.client);
    for (let i = 0; i < 3; i++) {
      await registry.register(`run-${i}`, configHash(config), JSON.stringify(config), new Date(Date.UTC(2026, 0, 1 + i)));
      await registry.createStage(`run-${i}`, 'coarse', { state: 'queued', jobId: `run-${i}.coarse.x`, submittedAt: new Date().toISOString() });
    }
  });
  after(() => server.close());

  it('status --watch --json prints one JSON object per line; a reader closing early ends it quietly with exit 0', async () => {
    const res = await readThenClose(['status', 'run-0', '--watch', '--json', '--interval', '0.1'], env(), 3);
    assert.equal(res.lines.length, 3);
    for (const l of res.lines) assert.equal((JSON.parse(l) as { schema: string }).schema, 'fiber.status/v1');
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /EPIPE|Error|at /);
  });

  it('`fiber runs` into a reader that has already gone: exit 0, no stack trace', async () => {
    const res = await readThenClose(['runs'], env(), 0);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /EPIPE|Error|at /);
  });

  it('colours only when asked for and never with NO_COLOR', async () => {
    const forced = await runFiber(['runs'], { ...env(), FORCE_COLOR: '1' });
    assert.match(forced.stdout, /\x1b\[33m|\x1b\[36m/);
    const off = await runFiber(['runs'], { ...env(), FORCE_COLOR: '1', NO_COLOR: '1' });
    assert.equal(off.code, 0, off.stderr);
    assert.doesNotMatch(off.stdout, /\x1b\[/);
    assert.match(off.stdout, /run-2 +queued +coarse +0\/200 0%/);
    assert.equal(colorEnabled({ isTTY: true }, {}), true);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR is unset (no-color.org)');
    assert.equal(colorEnabled({ isTTY: false }, {}), false);
  });

  it('exit 75 when Redis or storage is not reachable (try again), 2 for input to fix', async () => {
    const port = await freePort();
    const res = await runFiber(['runs'], { FIBER_REDIS_URL: `redis://127.0.0.1:${port}` });
    assert.equal(res.code, 75, res.stderr);
    assert.match(res.stderr, /cannot reach Redis.*\[fiber\.redis\.unreachable\]/);
    const s3 = await runFiber(['checkpoints', 'r', '--checkpoints', 's3://bucket/ckpt'],
      { FIBER_S3_ENDPOINT: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' }, { timeoutMs: 60_000 });
    assert.equal(s3.code, 75, s3.stderr);
    assert.equal(exitCodeFor(new ConfigError('a.b', 'bad')), 2);
    assert.equal(exitCodeFor(new ConnectionError('down', 'fiber.redis.unreachable', {}, undefined, 'unavailable')), 75);
    assert.equal(exitCodeFor(new StorageError('broken')), 1);
    assert.equal(exitCodeFor(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 75);
  });
});
