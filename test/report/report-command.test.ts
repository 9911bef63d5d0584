import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { RunRegistry } from '../../src/queue/run-registry.js';
import { runFiber } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { assertWellFormedXml, externalRefs, svgsOf } from './markup.js';
import { COARSE_LOSSES, evalLines, pushLines, stepLines } from './metric-fixtures.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** `fiber report` through the built binary, on runs submitted the real way (`fiber pretrain`). */
describe('fiber report', () => {
  let server: TestRedis;
  let tmp: string;
  const env = () => ({ FIBER_REDIS_URL: server.url });
  const submit = (run: string, stage: 'coarse' | 'fine') => runFiber(['pretrain', '--stage', stage, '--preset', 'fiber-tiny', '--run', run, '--json',
    '--set', 'data.coarse.shards=s3://bucket/coco/{000000..000003}.tar', '--set', 'data.fine.shards=s3://bucket/fine/{0..1}.tar'], env());

  before(async () => {
    server = await startRedis();
    tmp = mkdtempSync(join(tmpdir(), 'fiber-report-test-'));
  });
  after(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a self-contained page and valid PNGs of every chart, skipping a malformed line', async () => {
    for (const stage of ['coarse', 'fine'] as const) assert.equal((await submit('rep', stage)).code, 0);
    // What the coordinator does to the registry as the coarse stage runs and completes.
    const registry = new RunRegistry(server.client);
    await registry.transition('rep', 'coarse', ['queued'], 'running', { startedAt: '2026-11-01T00:00:00.000Z' });
    await registry.updateStage('rep', 'coarse', { step: '60', 'loss.total': '1.5' });
    await registry.transition('rep', 'coarse', ['running'], 'completed', { finishedAt: '2026-11-01T00:01:00.000Z', checkpoint: 's3://bucket/runs/rep/coarse/step-000060' });
    const lines = stepLines(COARSE_LOSSES, 60);
    lines.splice(30, 0, '{"step": 31, "losses": ');
    await pushLines(server.client, 'rep', 'coarse', lines, evalLines(20, 60));

    const out = join(tmp, 'rep');
    const res = await runFiber(['report', 'rep', '--out', out, '--json'], env());
    assert.equal(res.code, 0, res.stderr);
    const result = JSON.parse(res.stdout) as { html: string; pngs: string[]; stages: { stage: string; malformed: { metrics: number } }[] };
    assert.equal(result.html, join(out, 'index.html'));
    assert.deepEqual(result.pngs.map((p) => p.slice(out.length + 1)).sort(),
      ['coarse-eval-grounding.png', 'coarse-eval-retrieval.png', 'coarse-losses.png', 'coarse-lr.png', 'coarse-throughput.png']);
    assert.equal(result.stages[0]!.malformed.metrics, 1);
    assert.doesNotMatch(res.stdout + res.stderr, new RegExp(server.url.replace(/[.:/]/g, '\\$&')), 'the Redis URL is not printed');

    for (const png of result.pngs) {
      const bytes = readFileSync(png);
      assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), png);
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, 'png');
      assert.ok(meta.width > 0 && meta.height > 0, png);
    }

    const html = readFileSync(result.html, 'utf8');
    assert.deepEqual(externalRefs(html), []);
    const svgs = svgsOf(html);
    assert.equal(svgs.length, result.pngs.length, 'every chart is embedded');
    svgs.forEach(assertWellFormedXml);
    for (const k of [...COARSE_LOSSES, 'total', 'i2t_r10', 't2i_r1', 'acc50']) assert.ok(html.includes(`>${k}<`), `legend has ${k}`);
    assert.match(html, /s3:\/\/bucket\/runs\/rep\/coarse\/step-000060/);
    assert.match(html, /<td>60 \/ 200<\/td>/);
    assert.match(html, /Skipped 1 malformed metrics line /);
    assert.match(html, /<h2>fine<\/h2>\n<p>No metrics yet/);
  });

  it('a run without metrics still gets a page that says so, in ./fiber-report-<run> by default', async () => {
    assert.equal((await submit('empty', 'coarse')).code, 0);
    const res = await runFiber(['report', 'empty'], env(), { cwd: tmp });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Wrote the report of run empty: fiber-report-empty\/index\.html \(0 chart\(s\)/);
    assert.match(res.stdout, /coarse: queued, no metrics yet/);
    const html = readFileSync(join(tmp, 'fiber-report-empty', 'index.html'), 'utf8');
    assert.match(html, /No metrics yet for this stage/);
  });

  it('an unknown run exits 2 naming it, and writes nothing', async () => {
    const out = join(tmp, 'ghost');
    const res = await runFiber(['report', 'ghost', '--out', out], env());
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no run named "ghost".*\[fiber\.run\.unknown\]/);
    assert.equal(existsSync(out), false);
  });
});
