import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { RepeatLimiter } from '../../src/log/repeat-limiter.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString()) as Record<string, unknown>); cb(); } }));
  return { log, lines };
}

describe('RepeatLimiter', () => {
  it('logs the first occurrence, then one summary per interval with the count', () => {
    const { log, lines } = capture();
    let now = 0;
    const r = new RepeatLimiter(log, 10_000, () => now);
    for (let i = 0; i < 200; i++, now += 50) r.error('shards', { epoch: '3' }, 'planned for another number of shards');
    // 200 calls over 10 s: the first, then one summary at t = 10 s for the 199 after it... minus the last not yet due
    assert.equal(lines.length, 1);
    now = 10_000;
    r.error('shards', { epoch: '3' }, 'planned for another number of shards');
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.repeated, 200);
    assert.match(String(lines[1]!.msg), /repeated 200 times in the last 10 s/);
    assert.equal(lines[1]!.epoch, '3');
  });

  it('keeps keys apart, and a cleared key is logged at once again', () => {
    const { log, lines } = capture();
    const r = new RepeatLimiter(log, 60_000, () => 0);
    assert.equal(r.warn('a', {}, 'A'), true);
    assert.equal(r.warn('b', {}, 'B'), true);
    assert.equal(r.warn('a', {}, 'A'), false);
    r.clear('a');
    assert.equal(r.warn('a', {}, 'A'), true);
    assert.deepEqual(lines.map((l) => l.msg), ['A', 'B', 'A']);
  });
});
