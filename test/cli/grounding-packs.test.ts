import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FineBatch } from '../../src/data/pipeline/batch.js';
import { dataStageConfig } from '../../src/data/pipeline/data-stage-config.js';
import { TaskDataLoader } from '../../src/data/pipeline/task-data-loader.js';
import type { EvalResult } from '../../src/eval/eval-result.js';
import { createObjectStore } from '../../src/storage/object-store.js';
import { runFiber } from '../helpers/cli.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { writeMdetrFixture, type MdetrFixture } from '../helpers/mdetr-fixtures.js';
import { robertaBaseDir } from '../helpers/roberta-base.js';

/**
 * `fiber data pack --from mdetr` and `--from detection` on annotation files made from coco-dev,
 * through the built binary: the report of bad records, `fiber data verify`, the shards read back
 * by the training loader (boxes, spans, positive maps with either tokenizer), and
 * `fiber eval --task grounding` on them with a freshly initialised fiber-tiny.
 */
const coco = cocoDevDir();
const roberta = robertaBaseDir();

interface PackJson {
  fine?: { samples: number; pattern: string };
  skipped: Record<string, number>;
}

describe('grounding and detection packs', { skip: coco.skip, timeout: 180_000 }, () => {
  let root: string;
  let fx: MdetrFixture;
  let mdetr: PackJson;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fiber-grounding-packs-'));
    fx = await writeMdetrFixture(coco.dir!, root, 5);
    const res = await runFiber(['data', 'pack', '--from', 'mdetr', '--images', fx.images, '--annotations', fx.mdetr, '--out', pathToFileURL(join(root, 'mdetr')).href, '--samples-per-shard', '6', '--json']);
    assert.equal(res.code, 0, res.stderr);
    mdetr = JSON.parse(res.stdout) as PackJson;
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('--from mdetr: one fine sample per good image-caption record; bad records, boxes and spans counted by reason', async () => {
    assert.equal(mdetr.fine?.samples, fx.good.length);
    assert.deepEqual(mdetr.skipped, fx.skipped);
    const plain = await runFiber(['data', 'pack', '--from', 'mdetr', '--images', fx.images, '--annotations', fx.mdetr, '--out', pathToFileURL(join(root, 'again')).href]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /skipped: .*box_outside_image 1/);
    const verify = await runFiber(['data', 'verify', mdetr.fine!.pattern, '--json']);
    assert.equal(verify.code, 0, verify.stdout);
    const v = JSON.parse(verify.stdout) as { ok: boolean; counts: Record<string, number> };
    assert.deepEqual([v.ok, v.counts], [true, {}]);
    const missing = await runFiber(['data', 'pack', '--from', 'mdetr', '--images', fx.images, '--out', join(root, 'x')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--annotations/);
  });

  for (const tokenizer of ['default', 'roberta-base'] as const) {
    it(`read back by the training loader (${tokenizer} tokenizer): boxes scaled, every box's positive map on the tokens of its spans`, { skip: tokenizer === 'roberta-base' ? roberta.skip : undefined }, async () => {
      const store = createObjectStore();
      const config = dataStageConfig('fine', [{ shards: mdetr.fine!.pattern }], {
        fine: { minSizes: [96], maxSize: 160, flipProbability: 0, sizeDivisibility: 32 }, maxTextLen: 32, tokenizer: tokenizer === 'default' ? 'default' : roberta.dir!,
      });
      const loader = await TaskDataLoader.open(config, { seed: 3, globalBatch: fx.good.length, tasksPerStep: 1 }, { store });
      try {
        const b = (await loader.loadTask(0, 0)) as FineBatch;
        assert.equal(b.numSamples, fx.good.length, 'every record once');
        const { textLength: l, maxBoxes: m } = b;
        let checked = 0;
        b.keys.forEach((key, i) => {
          const rec = fx.good.find((r) => String(r.id).padStart(12, '0') === key)!;
          assert.ok(rec, key);
          const [h, w] = [b.imageSizes[2 * i]!, b.imageSizes[2 * i + 1]!];
          const ids = Array.from(b.inputIds.subarray(i * l, (i + 1) * l));
          rec.boxes.forEach((box, j) => {
            assert.equal(b.boxMask[i * m + j], 1, `${key} box ${j}`);
            const [x, y, bw, bh] = box.xywh as number[];
            const want = [x! * w / rec.width, y! * h / rec.height, (x! + bw!) * w / rec.width, (y! + bh!) * h / rec.height];
            const got = Array.from(b.boxes.subarray((i * m + j) * 4, (i * m + j + 1) * 4));
            got.forEach((g, k) => assert.ok(Math.abs(g - Math.min(want[k]!, k % 2 ? h : w)) < 1e-3, `${key} box ${j}: ${got} vs ${want}`));
            const row = b.positiveMap.subarray((i * m + j) * l, (i * m + j + 1) * l);
            const tokens = [...row.keys()].filter((t) => row[t]! > 0);
            assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-5, 'a row sums to 1');
            const text = loader.tokenizer.decode(tokens.map((t) => ids[t]!));
            for (const [s, e] of box.spans) assert.ok(text.includes(rec.caption.slice(s, e)), `${key} box ${j}: "${text}" holds "${rec.caption.slice(s, e)}"`);
            checked++;
          });
          assert.equal(b.boxMask.subarray(i * m, (i + 1) * m).reduce((a, v) => a + v, 0), rec.boxes.length, 'no other box');
        });
        assert.equal(checked, fx.good.reduce((a, r) => a + r.boxes.length, 0));
      } finally {
        await loader.close();
        await store.close();
      }
    });
  }

  it('--from detection: GLIP category prompts with cleaned names, crowd boxes counted', async () => {
    const res = await runFiber(['data', 'pack', '--from', 'detection', '--images', fx.images, '--instances', fx.instances, '--out', pathToFileURL(join(root, 'det')).href, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const packed = JSON.parse(res.stdout) as PackJson;
    assert.equal(packed.fine?.samples, fx.detection.images);
    assert.deepEqual(packed.skipped, fx.detection.crowd ? { crowd_box: fx.detection.crowd } : {});
    const verify = await runFiber(['data', 'verify', packed.fine!.pattern]);
    assert.equal(verify.code, 0, verify.stdout);
    const store = createObjectStore();
    const config = dataStageConfig('fine', [{ shards: packed.fine!.pattern }], { fine: { minSizes: [96], maxSize: 160, flipProbability: 0, sizeDivisibility: 32 }, maxTextLen: 256 });
    const loader = await TaskDataLoader.open(config, { seed: 1, globalBatch: 1, tasksPerStep: 1 }, { store });
    try {
      const b = (await loader.loadTask(0, 0)) as FineBatch;
      const ids = Array.from(b.inputIds.subarray(0, b.textLength));
      const text = loader.tokenizer.decode(ids);
      // Fewer than 85 absent categories: the prompt names every category once, "baseball_bat (sports)" as "baseball bat".
      assert.deepEqual(text.replace(/\.$/, '').split('. ').sort(), [...fx.detection.categories].sort());
      // Each box's positive map falls on one category name of the prompt.
      for (let j = 0; j < b.maxBoxes; j++) {
        if (!b.boxMask[j]) continue;
        const row = b.positiveMap.subarray(j * b.textLength, (j + 1) * b.textLength);
        const name = loader.tokenizer.decode([...row.keys()].filter((t) => row[t]! > 0).map((t) => ids[t]!)).trim();
        assert.ok(fx.detection.categories.includes(name), `"${name}" is a category`);
      }
    } finally {
      await loader.close();
      await store.close();
    }
  });

  it('fiber eval --task grounding on the packed records: acc@0.5, R@1/5/10, counts of phrases, captions and images', async () => {
    const ckpt = join(root, 'fine.safetensors');
    const init = await runFiber(['model', 'init', '--preset', 'fiber-tiny', '--stage', 'fine', '--seed', '4', '--out', ckpt]);
    assert.equal(init.code, 0, init.stderr);
    const res = await runFiber(['eval', '--checkpoint', ckpt, '--data', mdetr.fine!.pattern, '--task', 'grounding', '--json'], {}, { timeoutMs: 120_000 });
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as EvalResult;
    assert.equal(r.n, fx.good.reduce((a, g) => a + g.phrases, 0), 'phrases: one per tokens_positive_eval entry, one per RefCOCO record');
    assert.equal(r.samples, fx.good.length);
    assert.equal(r.images, new Set(fx.good.map((g) => g.file)).size);
    assert.deepEqual(r.skipped, {});
    for (const v of [...Object.values(r.scores), ...Object.values(r.chance)]) assert.ok(v >= 0 && v <= 1, String(v));
    const s = r.scores;
    assert.equal(s['R@1'], s['acc@0.5']);
    assert.ok(s['R@1']! <= s['R@5']! && s['R@5']! <= s['R@10']! && s['R@10']! <= s['oracle@0.5']!, JSON.stringify(s));
    assert.ok(r.chance['R@1']! <= r.chance['R@5']! && r.chance['R@5']! <= r.chance['R@10']!, JSON.stringify(r.chance));
    assert.equal(r.chance['R@1'], r.chance['acc@0.5']);
  });
});
