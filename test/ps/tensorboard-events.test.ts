import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeEventFile, EVENT_FILE_VERSION } from '../../src/ps/tensorboard-events.js';
import { crc32c } from '../../src/ps/crc32c.js';
import { parseEventFile, slowCrc32c } from '../helpers/tfevents-reader.js';

describe('TensorBoard event files', () => {
  it('CRC-32C matches the standard check value and a bitwise implementation', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
    assert.equal(crc32c(bytes), slowCrc32c(bytes));
  });

  it('writes the version header, then one event per step with its scalars, all CRCs valid', () => {
    const file = encodeEventFile([
      { step: 1, wallTime: 1700000000.5, scalars: { 'losses/itc': 2.0794, lr: 1e-4 } },
      { step: 2, wallTime: 1700000001.25, scalars: { 'losses/itc': 1.5, lr: 2e-4, samples_per_sec: 12.5 } },
      { step: 5_000_000_000, wallTime: 1700000002, scalars: { big: -3 } },
    ], 1700000000);
    const events = parseEventFile(file);
    assert.equal(events[0]!.fileVersion, EVENT_FILE_VERSION);
    assert.equal(events[0]!.wallTime, 1700000000);
    assert.deepEqual(events.slice(1).map((e) => e.step), [1, 2, 5_000_000_000]);
    assert.equal(events[1]!.wallTime, 1700000000.5);
    assert.equal(events[2]!.scalars['losses/itc'], Math.fround(1.5));
    assert.equal(events[2]!.scalars.lr, Math.fround(2e-4));
    assert.equal(events[2]!.scalars.samples_per_sec, 12.5);
    assert.equal(events[3]!.scalars.big, -3);
    const damaged = Buffer.from(file);
    damaged[30] = damaged[30]! ^ 1;
    assert.throws(() => parseEventFile(damaged), /CRC/);
  });

  const python = spawnSync('python3', ['-c', 'import tensorboard'], { encoding: 'utf8' });
  it('TensorBoard\'s own EventAccumulator reads it', { skip: python.status !== 0 ? 'python3 with the tensorboard package is not installed' : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'fiber-tb-'));
    try {
      writeFileSync(join(dir, 'events.out.tfevents.0000000002.fiber'), encodeEventFile([
        { step: 1, wallTime: 1700000000, scalars: { 'losses/itc': 2 } }, { step: 2, wallTime: 1700000001, scalars: { 'losses/itc': 1 } }], 1700000000));
      const script = `from tensorboard.backend.event_processing.event_accumulator import EventAccumulator as A
a = A(${JSON.stringify(dir)}); a.Reload(); print([(s.step, s.value) for s in a.Scalars('losses/itc')])`;
      const res = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stdout.trim(), '[(1, 2.0), (2, 1.0)]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
