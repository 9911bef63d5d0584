import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metricsKey } from '../../src/queue/keys.js';
import { collectRunMetrics } from '../../src/report/collect-run-metrics.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { COARSE_LOSSES, evalLines, pushLines, stepLines } from './metric-fixtures.js';

describe('collectRunMetrics', () => {
  let server: TestRedis;
  before(async () => { server = await startRedis(); });
  after(() => server.close());

  it('keeps valid lines, counts malformed ones, keeps NaN losses, and the latest record of a replayed step', async () => {
    const lines = stepLines(COARSE_LOSSES, 10);
    const nanStep = JSON.stringify({ step: 11, t: 1, seconds: 1, samples: 32, losses: { itc: null, total: 2 }, lr: 1e-4 });
    const replayed = JSON.stringify({ step: 5, t: 2, seconds: 1, samples: 32, losses: { total: 42 }, lr: 1e-4 });
    const bad = ['not json', '{"step":"x"}', JSON.stringify({ step: 1, t: 1, seconds: 1, samples: 32, lr: 1 }), '[]'];
    await pushLines(server.client, 'r1', 'coarse', [...lines, bad[0]!, nanStep, bad[1]!, replayed, bad[2]!, bad[3]!],
      [...evalLines(5, 10), '{"step":5,"task":"../x","t":1,"scores":{},"n":1}', 'garbage']);
    const m = await collectRunMetrics(server.client, 'r1');
    assert.deepEqual(m.coarse.malformed, { metrics: 4, evals: 2 });
    assert.deepEqual(m.coarse.steps.map((s) => s.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(m.coarse.steps[4]!.losses.total, 42);
    assert.ok(Number.isNaN(m.coarse.steps[10]!.losses.itc));
    assert.equal(m.coarse.evals.length, 4);
    assert.deepEqual(m.fine, { steps: [], evals: [], malformed: { metrics: 0, evals: 0 } });
  });

  it('reads lists longer than one page', async () => {
    const lines = stepLines(['itc'], 5003);
    await server.client.rpush(metricsKey('long', 'fine'), ...lines);
    const m = await collectRunMetrics(server.client, 'long');
    assert.equal(m.fine.steps.length, 5003);
    assert.equal(m.fine.steps.at(-1)!.step, 5003);
  });
});
