import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runFiber } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import type { StatusReport } from '../../src/queue/status-report.js';

/** The "done when", through the built binary against a real redis-server. */
describe('fiber pretrain -> status -> cancel', () => {
  let server: TestRedis;
  const env = () => ({ FIBER_REDIS_URL: server.url });
  const submit = ['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--set', 'data.coarse.shards=s3://bucket/coco/{000000..000003}.tar', '--set', 'data.fine.shards=s3://bucket/fine/{0..1}.tar'];

  before(async () => { server = await startRedis(); });
  after(() => server.close());

  it('creates exactly one waiting stage job, and a repeat creates none', async () => {
    const first = await runFiber([...submit, '--json'], env());
    assert.equal(first.code, 0, first.stderr);
    const out = JSON.parse(first.stdout) as { run: string; outcome: string; jobId: string };
    assert.equal(out.outcome, 'queued');
    assert.match(out.run, /^fiber-tiny-[0-9a-f]{12}$/);
    assert.equal(await server.client.llen('fiber:stages:wait'), 1);

    const again = await runFiber(submit, env());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already exists with this config and its coarse stage is queued; nothing was added/);
    assert.equal(await server.client.llen('fiber:stages:wait'), 1);

    const human = await runFiber(submit.slice(0, -2), env());
    assert.equal(human.code, 0);
    assert.match(human.stdout, /Queued the coarse stage of run fiber-tiny-[0-9a-f]{12} \(new run\)/);
    assert.match(human.stdout, /Watch it: {2}fiber status fiber-tiny-[0-9a-f]{12} --watch/);
    assert.match(human.stdout, /Note: data\.fine\.shards is empty/);
  });

  it('status --json shows the run with its coarse stage queued, following the schema', async () => {
    const res = await runFiber(['status', '--json'], env());
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as StatusReport;
    assert.equal(report.schema, 'fiber.status/v1');
    assert.equal(report.runs.length, 2);
    const run = report.runs.find((r) => r.stages[0]?.jobId.includes('.coarse.') && r.preset === 'fiber-tiny')!;
    assert.equal(run.state, 'queued');
    assert.deepEqual(run.stages.map((s) => [s.stage, s.state, s.totalSteps]), [['coarse', 'queued', 200]]);
    assert.equal(report.queues.stages.waiting, 2);
    assert.ok(Date.parse(report.runs[0]!.createdAt) >= Date.parse(report.runs[1]!.createdAt), 'newest first');
  });

  it('fine stage waits for coarse; status shows it; cancel clears the run', async () => {
    const first = JSON.parse((await runFiber([...submit, '--json'], env())).stdout) as { run: string };
    const fine = await runFiber([...submit.map((a) => (a === 'coarse' ? 'fine' : a)), '--json'], env());
    assert.equal(fine.code, 0, fine.stderr);
    assert.equal((JSON.parse(fine.stdout) as { outcome: string }).outcome, 'waiting');

    const text = await runFiber(['status', first.run], env());
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /coarse +queued/);
    assert.match(text.stdout, /fine +waiting/);
    assert.match(text.stdout, /starts from the coarse checkpoint/);

    const cancel = await runFiber(['cancel', first.run], env());
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /Cancelled run .*\n {2}coarse: queued -> cancelled\n {2}fine: waiting -> cancelled/);
    const report = JSON.parse((await runFiber(['status', first.run, '--json'], env())).stdout) as StatusReport;
    assert.equal(report.runs[0]!.state, 'cancelled');
    assert.deepEqual(report.runs[0]!.stages.map((s) => s.state), ['cancelled', 'cancelled']);
    assert.equal(report.queues.stages.waiting, 1, 'only the other run\'s job is left');

    const again = await runFiber(['cancel', first.run], env());
    assert.match(again.stdout, /already cancelled; nothing changed/);
    const resubmit = await runFiber(submit, env());
    assert.equal(resubmit.code, 2);
    assert.match(resubmit.stderr, /was cancelled/);
  });

  it('--watch on a finished run prints once and exits; without a TTY it prints plain text', async () => {
    const report = JSON.parse((await runFiber(['status', '--json'], env())).stdout) as StatusReport;
    const cancelled = report.runs.find((r) => r.state === 'cancelled')!;
    const res = await runFiber(['status', cancelled.name, '--watch', '--interval', '0.2'], env(), { timeoutMs: 10_000 });
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stdout, /\x1b\[/, 'no escape codes when stdout is not a terminal');
    assert.match(res.stdout, /CANCELLED/);
  });

  it('--dry-run validates and prints the job without connecting', async () => {
    const res = await runFiber([...submit, '--dry-run', '--json'], { FIBER_REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { outcome: string; config: { preset: string } };
    assert.equal(out.outcome, 'dry-run');
    assert.equal(out.config.preset, 'fiber-tiny');
  });
});
