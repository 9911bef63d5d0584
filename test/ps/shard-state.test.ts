import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import type { ServerParamSpec } from '../../src/model/param-spec.js';
import { localNormExchange } from '../../src/ps/norm-exchange.js';
import { ShardState, type NormExchange } from '../../src/ps/shard-state.js';
import { planLayout, shardSlices } from '../../src/stage/shard-layout.js';

const opt = resolveRunConfig({ preset: 'fiber-tiny', sets: ['optimizer.coarse.gradClipNorm=1', 'optimizer.coarse.warmupFraction=0'] }).optimizer.coarse;
const specs: ServerParamSpec[] = [{ name: 'w', shape: [64, 32], group: 'backbone', noDecay: false }];
const layout = planLayout(specs, 1);
const n = layout.totalElements;

function stateWith(exchange: NormExchange, errors: Array<{ err: Error; step: number }> = []): ShardState {
  return new ShardState({
    run: 'r', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: 2, staleness: 0, version: 0,
    params: Float32Array.from({ length: n }, (_, i) => Math.sin(i)), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n),
    slices: shardSlices(layout, specs, 0), specs, optimizer: opt,
  }, exchange, () => {}, (err, step) => errors.push({ err, step }));
}

const pushStep = (s: ShardState, step: number) => {
  for (let t = 0; t < 2; t++) s.push(step, t, 2, Float32Array.from({ length: n }, (_, i) => Math.cos(i + t + step)));
};

describe('ShardState when the gradient-norm exchange fails', () => {
  it('tries the same apply again later, with the same partials, and gets the bits of an undisturbed apply', async () => {
    const good = stateWith(localNormExchange(1)(0));
    pushStep(good, 0);
    assert.equal(await good.waitForVersion(1, 5000), true);

    const inner = localNormExchange(1)(0);
    const seen: Float64Array[] = [];
    let calls = 0;
    const errors: Array<{ err: Error; step: number }> = [];
    const flaky = stateWith(async (step, partials) => {
      calls++;
      seen.push(partials);
      if (calls === 1) throw new Error('Connection is closed.');
      return inner(step, partials);
    }, errors);
    pushStep(flaky, 0);
    assert.equal(await flaky.waitForVersion(1, 5000), true);
    assert.equal(calls, 2);
    assert.deepEqual([...seen[1]!], [...seen[0]!], 'the retry exchanges the same partials');
    assert.deepEqual(errors.map((e) => [e.step, e.err.message]), [[0, 'Connection is closed.']]);
    assert.deepEqual(Buffer.from(flaky.params.buffer), Buffer.from(good.params.buffer));
  });

  it('never spins: an exchange that keeps failing is tried about once per APPLY_RETRY_MS, and not after dispose()', async () => {
    let calls = 0;
    const s = stateWith(async () => {
      calls++;
      throw new Error('Redis is gone');
    });
    pushStep(s, 0);
    await new Promise((r) => setTimeout(r, ShardState.APPLY_RETRY_MS * 2.5));
    // Before the fix, a failed apply was retried at once, in a microtask loop: millions of calls.
    assert.ok(calls >= 2 && calls <= 4, `${calls} calls in ${ShardState.APPLY_RETRY_MS * 2.5} ms`);
    assert.equal(s.version, 0);
    s.dispose();
    const atDispose = calls;
    await new Promise((r) => setTimeout(r, ShardState.APPLY_RETRY_MS * 1.5));
    assert.equal(calls, atDispose);
  });
});
