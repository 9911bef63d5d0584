import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunStatus, StageStatus } from '../../src/queue/status-report.js';
import type { StageMetrics } from '../../src/report/collect-run-metrics.js';
import { parseEvalRecord, parseStepMetric, type EvalRecord, type StepMetric } from '../../src/report/metric-lines.js';
import { renderReportHtml } from '../../src/report/render-report-html.js';
import { stageCharts } from '../../src/report/report-charts.js';
import { stageSummary } from '../../src/report/stage-summary.js';
import { assertWellFormedXml, externalRefs, svgsOf } from './markup.js';
import { COARSE_LOSSES, evalLines, stepLines } from './metric-fixtures.js';

const evil = '<img src=x onerror=alert(1)>&';

function stage(over: Partial<StageStatus>): StageStatus {
  return {
    stage: 'coarse', state: 'completed', jobId: 'j', submittedAt: '2026-11-01T00:00:00.000Z', startedAt: '2026-11-01T00:00:00.000Z',
    finishedAt: '2026-11-01T01:02:05.000Z', init: null, checkpoint: null, error: null, cancelRequested: false, step: 60, totalSteps: 60,
    samplesPerSec: 40, etaSeconds: null, lr: 1e-5, losses: { total: 1 }, skipped: {}, eval: null, time: null, ...over,
  };
}

function run(stages: StageStatus[]): RunStatus {
  return { name: `run-${evil}`, state: 'completed', preset: 'fiber-tiny', configHash: 'abc123', createdAt: '2026-11-01T00:00:00.000Z', cancelledAt: null, stages, errors: [] };
}

const metricsOf = (steps: number, evals = 0): StageMetrics => ({
  steps: stepLines(COARSE_LOSSES, steps).map((l) => parseStepMetric(l) as StepMetric),
  evals: evals ? evalLines(evals, steps).map((l) => parseEvalRecord(l) as EvalRecord) : [],
  malformed: { metrics: 2, evals: 0 },
});

describe('renderReportHtml', () => {
  const now = new Date('2026-11-02T00:00:00.000Z');
  const coarse = stage({ checkpoint: `s3://user:hunter2@bucket/${evil}/step-000060`, error: `boom ${evil}` });
  const fine = stage({ stage: 'fine', state: 'waiting', startedAt: null, finishedAt: null, step: null, losses: {} });
  const m = metricsOf(60, 20);
  const summaries = [stageSummary('coarse', coarse, m, now), stageSummary('fine', fine, { steps: [], evals: [], malformed: { metrics: 0, evals: 0 } }, now)];
  const charts = stageCharts('coarse', m);
  const html = renderReportHtml({ run: run([coarse, fine]), stages: summaries, generatedAt: now.toISOString() }, charts);

  it('escapes run ids, URIs and error messages, and redacts credentials in them', () => {
    assert.ok(!html.includes('<img'), 'no injected element');
    assert.ok(html.includes('run-&lt;img src=x onerror=alert(1)&gt;&amp;'));
    assert.ok(!html.includes('hunter2'), 'the password in a URI is redacted');
    assert.ok(html.includes('s3://user:***@bucket/&lt;img'));
    assert.ok(html.includes('Error: boom &lt;img'));
  });

  it('has the summary: states, steps, smoothed losses, checkpoint, wall time, latest evals, config hash', () => {
    assert.match(html, /<td>60 \/ 60<\/td>/);
    assert.match(html, /<td>1h 02m 05s<\/td>/);
    for (const k of [...COARSE_LOSSES, 'total']) assert.match(html, new RegExp(`${k} \\d`));
    assert.match(html, /retrieval @ step 60 \(n=100\): i2t_r1 0\.4, /);
    assert.match(html, /grounding @ step 60 \(n=50\): acc50 0\.6/);
    assert.match(html, /abc123/);
    assert.match(html, /waiting/);
    assert.match(html, /No metrics yet for this stage/);
    assert.match(html, /Skipped 2 malformed metrics lines/);
  });

  it('inlines every chart as well-formed SVG, and nothing external', () => {
    assert.deepEqual(charts.map((c) => c.name), ['coarse-losses', 'coarse-lr', 'coarse-throughput', 'coarse-eval-grounding', 'coarse-eval-retrieval']);
    const svgs = svgsOf(html);
    assert.equal(svgs.length, charts.length);
    svgs.forEach(assertWellFormedXml);
    for (const c of charts) assert.ok(html.includes(`href="${c.name}.png"`));
    assert.deepEqual(externalRefs(html), []);
    assert.ok(!/<script|<link|@import|url\(/i.test(html));
  });
});
