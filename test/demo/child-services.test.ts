import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChildServices } from '../../src/demo/child-services.js';
import { chaosVictims } from '../../src/demo/chaos.js';

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
});

describe('chaosVictims', () => {
  it('picks live workers and shards, never ps-0 (the coordinator) and nothing else', () => {
    const alive = (name: string, a = true) => ({ name, alive: a });
    assert.deepEqual(chaosVictims([alive('ps-0'), alive('ps-1'), alive('worker-1'), alive('worker-0', false), alive('redis')]), ['ps-1', 'worker-1']);
  });
});
