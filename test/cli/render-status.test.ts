import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duration, renderStatus } from '../../src/cli/render-status.js';
import { STAGE_STATES } from '../../src/queue/run-registry.js';
import type { RunStatus, StageStatus, StatusReport } from '../../src/queue/status-report.js';

const counts = { waiting: 1, active: 2, delayed: 0, completed: 3, failed: 0 };
const stage = (over: Partial<StageStatus>): StageStatus => ({
  stage: 'coarse', state: 'queued', jobId: 'j', submittedAt: '2026-01-01T00:00:00.000Z', startedAt: null, finishedAt: null,
  init: null, checkpoint: null, error: null, cancelRequested: false, step: null, totalSteps: 200, samplesPerSec: null,
  etaSeconds: null, lr: null, losses: {}, skipped: {}, eval: null, time: null, ...over,
});
const report = (runs: RunStatus[]): StatusReport => ({
  schema: 'fiber.status/v1', generatedAt: '2026-01-01T00:00:05.000Z', redis: { url: 'redis://h:6379', version: '7.0.15' },
  queues: { stages: counts, tasks: counts }, runs, workers: [],
});
const run = (stages: StageStatus[], state = stages[0]!.state): RunStatus => ({
  name: 'r1', state, preset: 'fiber-tiny', configHash: 'abc', createdAt: '2026-01-01T00:00:00.000Z', cancelledAt: null, stages, errors: [],
});

describe('renderStatus', () => {
  it('names the coordinator lease holder, or says that none holds it', () => {
    const holder = { host: 'ps-0-abc', pid: 12, shards: 2, token: 7, since: '2026-01-01T00:00:01.000Z' };
    assert.match(renderStatus({ ...report([]), coordinator: holder }, { color: false }), /^coordinator ps-0-abc \(pid 12, --shards 2, lease token 7\) since 2026-01-01 00:00:01/m);
    assert.match(renderStatus({ ...report([]), coordinator: null }, { color: false }), /^coordinator none: no parameter-server shard 0 holds the lease/m);
    assert.doesNotMatch(renderStatus(report([]), { color: false }), /coordinator/);
  });

  it('renders a run in every stage state', () => {
    for (const state of STAGE_STATES) {
      const text = renderStatus(report([run([stage({ state })])]), { color: false });
      assert.match(text, new RegExp(`r1 {2}${state.toUpperCase()} {2}preset fiber-tiny`));
      assert.match(text, new RegExp(`coarse ${state}`));
    }
  });

  it('shows progress, throughput, ETA, losses, skipped samples, checkpoints and errors', () => {
    const text = renderStatus(report([run([
      stage({ state: 'completed', step: 200, checkpoint: 's3://b/r1/coarse/step-200' }),
      stage({ stage: 'fine', state: 'running', step: 50, samplesPerSec: 12.5, etaSeconds: 3725, lr: 5e-4, losses: { focal: 0.5, giou: 0.25 }, skipped: { bad_json: 2 }, init: 's3://b/r1/coarse/step-200' }),
    ], 'running')]), { color: false });
    assert.match(text, /coarse completed \[#{20}\] 200\/200/);
    assert.match(text, /fine +running +\[#{5}\.{15}\] 50\/200 {2}12\.5 samples\/s {2}ETA 1h02m {2}lr 5\.00e-4/);
    assert.match(text, /loss focal 0\.5000 {2}giou 0\.2500/);
    assert.match(text, /skipped bad_json 2/);
    assert.match(text, /checkpoint s3:\/\/b\/r1\/coarse\/step-200/);
    assert.match(text, /from s3:\/\/b\/r1\/coarse\/step-200/);
    const failed = renderStatus(report([run([stage({ state: 'failed', error: 'worker OOM' })])]), { color: false });
    assert.match(failed, /error: worker OOM/);
  });

  it('shows the latest in-training eval scores and the run\'s last errors', () => {
    const r = { ...run([stage({ state: 'running', step: 60, eval: { step: 50, task: 'retrieval', scores: { i2t_r1: 0.125, t2i_r1: 0.25 } } })]),
      errors: [{ at: '2026-01-01T00:00:03.000Z', stage: 'coarse', source: 'worker w-1', message: 'task failed: ECONNRESET; retried' }] };
    const text = renderStatus(report([r]), { color: false });
    assert.match(text, /eval @50 retrieval: i2t_r1 12\.5% {2}t2i_r1 25\.0%/);
    assert.match(text, /last errors:\n {4}2026-01-01 00:00:03Z {2}coarse {2}worker w-1: task failed: ECONNRESET; retried/);
  });

  it('says what to do when there are no runs, and colours only when asked', () => {
    assert.match(renderStatus(report([]), { color: false }), /No runs yet\. Submit one with: fiber pretrain/);
    assert.doesNotMatch(renderStatus(report([run([stage({})])]), { color: false }), /\x1b\[/);
    assert.match(renderStatus(report([run([stage({})])]), { color: true }), /\x1b\[36m/);
  });

  it('lists workers with their backend, state and last heartbeat', () => {
    const text = renderStatus({ ...report([]), workers: [
      { id: 'w-1', host: 'node-a', backend: 'wasm', state: 'busy', task: 'r1/coarse step 3 task 1', tasksDone: 12, lastHeartbeat: '2026-01-01T00:00:04.000Z' },
      { id: 'w-2', host: 'node-b', backend: 'tensorflow-gpu', state: 'lost', task: null, tasksDone: 3, lastHeartbeat: '2025-12-31T23:00:00.000Z' },
    ] }, { color: false });
    assert.match(text, /w-1 +node-a +wasm +busy +12 {2}2026-01-01 00:00:04Z {2}\(r1\/coarse step 3 task 1\)/);
    assert.match(text, /w-2 +node-b +tensorflow-gpu +lost +3/);
  });

  it('shows the stage\'s goodput and its biggest losses', () => {
    const seconds = { wall: 100, workers: 2, compute: 47, data: 20, pull: 5, push: 3, straggler: 15, optimizer: 4, checkpoint: 6, failures: 0, other: 0 };
    const text = renderStatus(report([run([stage({ state: 'running', step: 10, time: { goodput: 0.47, seconds } })])]), { color: false });
    assert.match(text, /goodput 47\.0%  lost to: data wait 20%, waiting for the slowest task 15%, checkpoint 6%/);
  });

  it('formats durations', () => {
    assert.deepEqual([duration(5), duration(65), duration(3725), duration(-3)], ['5s', '1m05s', '1h02m', '0s']);
  });
});
