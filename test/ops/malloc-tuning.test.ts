import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MALLOC_TUNING, missingMallocTuning, withMallocTuning } from '../../src/ops/malloc-tuning.js';

describe('withMallocTuning', () => {
  it('adds the glibc settings and keeps the rest of the environment', () => {
    const env = withMallocTuning({ FIBER_LOG_LEVEL: 'debug' });
    assert.equal(env.FIBER_LOG_LEVEL, 'debug');
    for (const [k, v] of Object.entries(MALLOC_TUNING)) assert.equal(env[k], v);
    assert.equal(Number(MALLOC_TUNING.MALLOC_TRIM_THRESHOLD_), 256 * 2 ** 20);
  });

  it('leaves a value the user chose alone', () => {
    assert.equal(withMallocTuning({ MALLOC_TRIM_THRESHOLD_: '0' }).MALLOC_TRIM_THRESHOLD_, '0');
  });
});

describe('missingMallocTuning', () => {
  it('names the settings a Linux process lacks, and none elsewhere', () => {
    assert.deepEqual(missingMallocTuning({}, 'linux'), Object.keys(MALLOC_TUNING));
    assert.deepEqual(missingMallocTuning({ MALLOC_TRIM_THRESHOLD_: '1' }, 'linux'), ['MALLOC_TOP_PAD_']);
    assert.deepEqual(missingMallocTuning(withMallocTuning({}), 'linux'), []);
    assert.deepEqual(missingMallocTuning({}, 'darwin'), []);
  });
});
