import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StageStatus, StatusReport } from '../../src/queue/status-report.js';
import { renderDashboardBody } from '../../src/report/render-dashboard.js';
import { assertWellFormedXml } from './markup.js';

const evil = '<img src=x onerror=alert(1)>&';
const counts = { waiting: 0, active: 1, delayed: 0, completed: 3, failed: 0 };
const stage: StageStatus = {
  stage: 'coarse', state: 'running', jobId: 'j', submittedAt: '2026-11-01T00:00:00.000Z', startedAt: '2026-11-01T00:00:00.000Z', finishedAt: null,
  init: null, checkpoint: null, error: `failed at s3://user:hunter2@bucket/x ${evil}`, cancelRequested: false, step: 40, totalSteps: 100,
  samplesPerSec: 4.7, etaSeconds: 102, lr: 5e-4, losses: { total: 1.25 }, skipped: {}, eval: { step: 40, task: 'retrieval', scores: { i2t_r1: 0.25 } },
  time: { goodput: 0.47, seconds: { wall: 100, workers: 0, compute: 47, data: 20, pull: 5, push: 3, straggler: 15, optimizer: 4, checkpoint: 6, failures: 0, other: 0 } },
};
const report: StatusReport = {
  schema: 'fiber.status/v1', generatedAt: '2026-11-01T00:10:00.000Z', redis: { url: 'redis://***@h:6379', version: '7' },
  queues: { stages: counts, tasks: counts },
  runs: [{ name: `r-${evil}`, state: 'running', preset: 'fiber-tiny', configHash: 'abc', createdAt: '2026-11-01T00:00:00.000Z', cancelledAt: null, stages: [stage], errors: [{ at: '2026-11-01T00:05:00.000Z', stage: 'coarse', source: `worker ${evil}`, message: 'redis://:pw@host:6379 down' }] }],
  workers: [{ id: `w-${evil}`, host: 'h', backend: 'wasm', state: 'busy', task: 'r/coarse step 40 task 1', tasksDone: 80, lastHeartbeat: '2026-11-01T00:09:59.000Z' }],
};

describe('renderDashboardBody', () => {
  const html = renderDashboardBody({ status: report, run: report.runs[0]!.name, charts: [] });

  it('shows progress, ETA, LR, losses, eval, goodput and its causes as a stacked bar, and the workers', () => {
    assert.match(html, /40 \/ 100 steps · 4\.7 samples\/s · ETA 1m42s · lr 5\.00e-4 · goodput 47\.0%/);
    assert.match(html, /<div style="width:40\.0%">/);
    assert.match(html, /loss total 1\.2500/);
    assert.match(html, /eval @40 retrieval: i2t_r1 25\.0%/);
    const widths = [...html.matchAll(/<rect class="cause" data-cause="(\w+)" x="[\d.]+" y="0" width="([\d.]+)"/g)].map((m) => [m[1], Number(m[2])] as const);
    assert.deepEqual(widths.map(([c]) => c), ['compute', 'data', 'pull', 'push', 'straggler', 'optimizer', 'checkpoint']);
    assert.ok(Math.abs(widths.reduce((a, [, w]) => a + w, 0) - 600) < 0.5, 'the causes fill the bar');
    assert.match(html, /<tr class="worker busy">/);
  });

  it('escapes everything from Redis and redacts credentials', () => {
    assert.ok(!html.includes(evil), 'no raw markup from Redis');
    assert.ok(!html.includes('hunter2') && !html.includes(':pw@'), 'credentials redacted');
    assertWellFormedXml(`<div>${html.replace(/<br>/g, '<br/>')}</div>`);
  });
});
