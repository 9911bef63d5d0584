import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderEvalResult } from '../../src/cli/render-eval.js';
import { createObjectStore } from '../../src/storage/object-store.js';
import type { EvalResult } from '../../src/eval/eval-result.js';
import { retrievalChance, retrievalScores } from '../../src/eval/retrieval-scores.js';
import { runFiber } from '../helpers/cli.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { packCocoDevSubset, type PackedSubset } from '../helpers/eval-fixtures.js';

/**
 * `fiber eval` through the built binary, as a user runs it: checkpoints from `fiber model init`,
 * shards packed from coco-dev, --json results checked for shape and honesty, and the exits of
 * bad input.
 */
const coco = cocoDevDir();

function inUnit(r: EvalResult): void {
  for (const [k, v] of [...Object.entries(r.scores), ...Object.entries(r.chance)]) assert.ok(v >= 0 && v <= 1, `${k} = ${v}`);
}

describe('fiber eval', { skip: coco.skip, timeout: 120_000 }, () => {
  let root: string;
  let data: PackedSubset;
  let coarse: string;
  let fine: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fiber-eval-cli-'));
    const store = createObjectStore();
    try {
      data = await packCocoDevSubset(coco.dir!, store, join(root, 'data'), { coarse: 10, grounding: 5, detection: 0 });
    } finally {
      await store.close();
    }
    coarse = join(root, 'coarse.safetensors');
    fine = join(root, 'fine.safetensors');
    for (const [stage, out] of [['coarse', coarse], ['fine', fine]] as const) {
      const res = await runFiber(['model', 'init', '--preset', 'fiber-tiny', '--stage', stage, '--seed', '2', '--out', out]);
      assert.equal(res.code, 0, res.stderr);
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('--task retrieval --json: N pairs, recalls in [0, 1] and ordered, chance K/N', async () => {
    const res = await runFiber(['eval', '--checkpoint', coarse, '--data', data.coarse, '--task', 'retrieval', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as EvalResult;
    assert.equal(r.task, 'retrieval');
    assert.equal(r.n, data.counts.coarse);
    inUnit(r);
    for (const d of ['i2t', 't2i']) {
      const [r1, r5, r10] = [1, 5, 10].map((k) => r.scores[`${d}_r${k}`]!);
      assert.ok(r10! >= r5! && r5! >= r1!, `${d}: ${r1} ${r5} ${r10}`);
      assert.equal(r.chance[`${d}_r1`], 1 / r.n);
      assert.equal(r.chance[`${d}_r10`], 1, 'K >= N: chance is 1');
    }
    // The same pure function on matching features (the identity) gives 1: a perfect model can score 1.
    const eye = Float32Array.from({ length: r.n * r.n }, (_, i) => (i % (r.n + 1) === 0 ? 1 : 0));
    assert.deepEqual(Object.values(retrievalScores(eye, r.n)), Array(7).fill(1));
    assert.deepEqual(Object.keys(retrievalScores(eye, r.n)), Object.keys(r.scores));
    assert.deepEqual(Object.keys(retrievalChance(r.n)), Object.keys(r.chance));
  });

  it('--task grounding --json: phrases of the grounding samples, accuracy beside chance', async () => {
    const res = await runFiber(['eval', '--checkpoint', fine, '--data', data.fine, '--task', 'grounding', '--json', '--limit', '4']);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as EvalResult;
    assert.equal(r.samples, 4);
    assert.ok(r.n >= 4);
    inUnit(r);
    assert.deepEqual(Object.keys(r.scores), ['acc@0.5', 'R@1', 'R@5', 'R@10', 'oracle@0.5']);
    assert.deepEqual(Object.keys(r.chance), ['acc@0.5', 'R@1', 'R@5', 'R@10']);
    assert.equal(r.scores['R@1'], r.scores['acc@0.5'], 'R@1 is top-1 accuracy');
  });

  it('plain output is a table with chance beside the scores', async () => {
    const res = await runFiber(['eval', '--checkpoint', coarse, '--data', data.coarse, '--task', 'retrieval', '--limit', '6', '--rerank', '2']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /N = 6 image-caption pairs/);
    assert.match(res.stdout, /R@1\s+R@5\s+R@10/);
    assert.match(res.stdout, /chance\s+0\.167\s+0\.833\s+1\.000/);
    assert.match(res.stdout, /ITM re-ranking of each query's ITC top 2/);
  });

  it('a bad --task, --limit or missing flag exits 2 naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--task', 'captioning'], /--task/],
      [['--task', 'retrieval', '--limit', '0'], /--limit/],
      [['--task', 'retrieval', '--preset', 'fiber-huge'], /--preset/],
    ];
    for (const [extra, flag] of cases) {
      const res = await runFiber(['eval', '--checkpoint', coarse, '--data', data.coarse, ...extra]);
      assert.equal(res.code, 2, `${extra.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, flag);
    }
    const noData = await runFiber(['eval', '--checkpoint', coarse, '--task', 'retrieval']);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /--data/);
  });

  it('a missing checkpoint is a one-line error with the URI; the wrong stage is a usage error', async () => {
    const uri = `file://${root}/run/coarse/step-00000007`;
    const res = await runFiber(['eval', '--checkpoint', uri, '--data', data.coarse, '--task', 'retrieval']);
    assert.equal(res.code, 1, res.stderr);
    assert.ok(res.stderr.includes(uri), res.stderr);
    assert.match(res.stderr, /fiber\.checkpoint\.not_found/);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    const wrong = await runFiber(['eval', '--checkpoint', fine, '--data', data.coarse, '--task', 'retrieval']);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /--task retrieval needs a coarse checkpoint/);
  });
});

describe('renderEvalResult', () => {
  it('grounding: accuracy, chance and oracle on their own lines', () => {
    const lines = renderEvalResult({
      task: 'grounding', checkpoint: 's3://b/run/fine', resolved: 's3://b/run/fine/step-00000050', stage: 'fine', step: 50, preset: 'fiber-tiny',
      n: 12, samples: 5, images: 4, scores: { 'acc@0.5': 0.25, 'R@5': 0.5, 'oracle@0.5': 0.75 }, chance: { 'acc@0.5': 0.1, 'R@5': 0.3 }, skipped: { not_grounding: 2 }, rerank: null, seconds: 1.25,
    });
    assert.equal(lines[0], 'grounding  fiber-tiny fine checkpoint step 50  s3://b/run/fine/step-00000050');
    assert.ok(lines.includes('N = 12 phrases in 5 captions of 4 images'), lines.join('\n'));
    assert.ok(lines.some((l) => /^R@5\s+0\.500\s+chance 0\.300 \(a uniformly random ranking of the anchors\)/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^acc@0\.5\s+0\.250\s+chance 0\.100/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^oracle@0\.5\s+0\.750/.test(l)));
    assert.ok(lines.includes('skipped: not_grounding 2'));
  });
});
