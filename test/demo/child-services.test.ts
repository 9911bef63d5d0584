import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChildServices } from '../../src/demo/child-services.js';
import { chaosVictims } from '../../src/demo/chaos.js';
import { startRedis } from '../helpers/redis-server.js';

describe('ChildServices supervision', () => {
  it('restarts a child that exits, with back-off, and gives up on a crash loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fiber-children-'));
    // `fiber --version` exits at once: a child that dies young every time.
    const children = new ChildServices(dir, process.env, { initialBackoffMs: 10, maxBackoffMs: 40, stableAfterMs: 60_000, maxCrashLoop: 2 });
    try {
      const s = children.start('worker-0', ['--version']);
      const deadline = Date.now() + 60_000;
      while (children.crashed().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(children.crashed().map((c) => c.name), ['worker-0']);
      assert.equal(s.restarts, 2);
      assert.deepEqual(children.restarts(), { 'worker-0': 2 });
      const log = readFileSync(s.logFile, 'utf8');
      assert.equal(log.match(/restarting in \d+ ms/g)?.length, 2, log);
      assert.match(log, /3 times in a row soon after starting: not restarting it/);
    } finally {
      await children.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(children.crashed(), [], 'a stopped supervisor reports nothing');
  });

  it('restarts a child killed on purpose at once, without counting it as a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fiber-children-'));
    const redis = await startRedis();
    // A long-lived child that needs nothing but Redis: `fiber dashboard`. With maxCrashLoop 0 a
    // real crash would be given up on at once.
    const children = new ChildServices(dir, process.env, { initialBackoffMs: 10, maxBackoffMs: 40, stableAfterMs: 60_000, maxCrashLoop: 0 });
    const lives = (s: { logFile: string }) => (existsSync(s.logFile) ? readFileSync(s.logFile, 'utf8').match(/fiber dashboard: http/g) ?? [] : []).length;
    const until = async (ok: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ok());
    };
    try {
      const s = children.start('worker-0', ['dashboard', '--port', '0', '--redis-url', redis.url]);
      await until(() => lives(s) === 1);
      assert.equal(children.kill('worker-0'), true);
      await until(() => lives(s) === 2);
      assert.equal(s.restarts, 1);
      assert.deepEqual(children.crashed(), []);
      assert.equal(children.kill('nobody'), false);
    } finally {
      await children.stop();
      await redis.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('chaosVictims', () => {
  it('picks live workers and shards, never ps-0 (the coordinator) and nothing else', () => {
    const alive = (name: string, a = true) => ({ name, alive: a });
    assert.deepEqual(chaosVictims([alive('ps-0'), alive('ps-1'), alive('worker-1'), alive('worker-0', false), alive('redis')]), ['ps-1', 'worker-1']);
  });
});
