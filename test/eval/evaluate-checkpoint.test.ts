import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createObjectStore } from '../../src/storage/object-store.js';
import { ConfigError, FiberError } from '../../src/errors/index.js';
import { defaultTokenizer } from '../../src/data/pipeline/text-tokenizer.js';
import { tokenizerIdentity, tokenizerMetadata } from '../../src/data/pipeline/tokenizer-identity.js';
import { evaluateCheckpoint } from '../../src/eval/evaluate-checkpoint.js';
import type { EvalResult } from '../../src/eval/eval-result.js';
import { selectBackend } from '../../src/model/backend.js';
import { initParams } from '../../src/model/init-params.js';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { paramSpecs } from '../../src/model/param-spec.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { exportWeights } from '../../src/model/weight-io.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { packCocoDevSubset, writeStepCheckpoint, type PackedSubset } from '../helpers/eval-fixtures.js';

/**
 * evaluateCheckpoint in-process on packed coco-dev with seeded fiber-tiny checkpoints: the shapes
 * of the results, that no tensor is left behind, and the errors a caller gets.
 */
const coco = cocoDevDir();

function checkFractions(r: EvalResult): void {
  for (const [k, v] of [...Object.entries(r.scores), ...Object.entries(r.chance)]) assert.ok(v >= 0 && v <= 1, `${k} = ${v}`);
}

describe('evaluateCheckpoint', { skip: coco.skip }, () => {
  const store = createObjectStore();
  let root: string;
  let data: PackedSubset;
  let coarse: { stageDir: string; stepDir: string };
  let fineFile: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fiber-eval-'));
    data = await packCocoDevSubset(coco.dir!, store, join(root, 'data'), { coarse: 12, grounding: 6, detection: 1 });
    coarse = await writeStepCheckpoint(store, join(root, 'ckpt'), 'coarse', 40);
    const cfg = MODEL_PRESETS['fiber-tiny'];
    fineFile = join(root, 'fine.safetensors');
    await writeFile(fineFile, writeSafetensors(exportWeights(paramSpecs(cfg, 'fine'), initParams(cfg, 'fine', 1)), { preset: 'fiber-tiny' }));
    await selectBackend();
  });
  after(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('retrieval from a stage directory: every pair, ITC and ITM scores beside chance, no tensor left', async () => {
    const kept = tf.scalar(1); // the backend is live: a leak would show as a count above this
    const before = tf.memory().numTensors;
    const r = await evaluateCheckpoint(store, { checkpoint: coarse.stageDir, data: [data.coarse], task: 'retrieval', rerank: 3, batchSize: 5 });
    assert.equal(tf.memory().numTensors, before, 'tensors after == before');
    kept.dispose();
    assert.equal(r.resolved, coarse.stepDir, 'the stage directory resolved through latest');
    assert.equal(r.step, 40);
    assert.equal(r.stage, 'coarse');
    assert.equal(r.n, data.counts.coarse);
    assert.equal(r.samples, r.n);
    assert.equal(r.rerank, 3);
    checkFractions(r);
    for (const p of ['', 'itm_']) {
      for (const d of ['i2t', 't2i']) {
        const [r1, r5, r10] = [1, 5, 10].map((k) => r.scores[`${p}${d}_r${k}`]!);
        assert.ok(r10! >= r5! && r5! >= r1!, `${p}${d}: R@10 ${r10} >= R@5 ${r5} >= R@1 ${r1}`);
        assert.equal(r.chance[`${p}${d}_r5`], 5 / r.n);
      }
    }
    // Re-ranking only reorders each query's top 3: R@K for K >= 3 cannot change.
    assert.equal(r.scores.itm_i2t_r5, r.scores.i2t_r5);
    assert.equal(r.scores.itm_t2i_r10, r.scores.t2i_r10);
    assert.deepEqual(r.skipped, {});
  });

  it('--limit evaluates the first N samples', async () => {
    const r = await evaluateCheckpoint(store, { checkpoint: coarse.stepDir, data: [data.coarse], task: 'retrieval', limit: 5 });
    assert.equal(r.n, 5);
    assert.equal(r.chance.i2t_r5, 1);
    assert.equal(r.rerank, null);
    assert.equal(r.scores.itm_i2t_r1, undefined);
  });

  it('grounding from a .safetensors file: every phrase of every grounding sample, detection samples skipped', async () => {
    const kept = tf.scalar(1);
    const before = tf.memory().numTensors;
    const r = await evaluateCheckpoint(store, { checkpoint: fineFile, data: [data.fine], task: 'grounding', batchSize: 4 });
    assert.equal(tf.memory().numTensors, before);
    kept.dispose();
    assert.equal(r.step, null);
    assert.equal(r.preset, 'fiber-tiny', 'from the file\'s metadata');
    assert.equal(r.samples, data.counts.grounding);
    assert.ok(r.n >= r.samples, `${r.n} phrases in ${r.samples} captions`);
    assert.equal(r.skipped.not_grounding, data.counts.detection);
    checkFractions(r);
    assert.ok(r.scores['acc@0.5']! <= r.scores['oracle@0.5']!);
    assert.ok(r.chance['acc@0.5']! <= r.scores['oracle@0.5']!);
    assert.equal(r.scores['R@1'], r.scores['acc@0.5']);
    assert.ok(r.scores['R@5']! <= r.scores['R@10']! && r.scores['R@10']! <= r.scores['oracle@0.5']!);
    assert.ok(r.images! >= 1 && r.images! <= r.samples, `${r.images} images`);
  });

  it('errors name what to fix', async () => {
    const rejects = async (opts: Parameters<typeof evaluateCheckpoint>[1], code: string, kind: 'usage' | 'runtime', text: RegExp) =>
      assert.rejects(evaluateCheckpoint(store, opts), (err: unknown) => {
        assert.ok(err instanceof FiberError, String(err));
        assert.equal(err.code, code);
        assert.equal(err.kind, kind);
        assert.match(err.message, text);
        return true;
      });
    await rejects({ checkpoint: fineFile, data: [data.coarse], task: 'retrieval' }, 'fiber.eval.stage', 'usage', /--task retrieval needs a coarse checkpoint/);
    await rejects({ checkpoint: coarse.stepDir, data: [data.fine], task: 'grounding', rerank: 2 }, 'fiber.eval.rerank', 'usage', /--rerank/);
    await rejects({ checkpoint: coarse.stepDir, data: [data.coarse], task: 'retrieval', limit: 0 }, 'fiber.eval.flag', 'usage', /--limit/);
    const missing = `${coarse.stageDir}/step-00000099`;
    await rejects({ checkpoint: missing, data: [data.coarse], task: 'retrieval' }, 'fiber.checkpoint.not_found', 'runtime', new RegExp(missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    await rejects({ checkpoint: join(root, 'nope.safetensors'), data: [data.coarse], task: 'retrieval' }, 'fiber.checkpoint.not_found', 'runtime', /nope\.safetensors does not exist/);
    await rejects({ checkpoint: coarse.stepDir, data: [data.coarse], task: 'retrieval', preset: 'fiber-small' }, 'fiber.eval.preset', 'usage', /--preset fiber-small contradicts/);
    // Retrieval reads coarse samples; grounding on coarse shards finds no phrase to ground.
    await rejects({ checkpoint: fineFile, data: [data.coarse], task: 'grounding' }, 'fiber.eval.empty', 'usage', /nothing to evaluate.*no_phrases/);
    const bare = join(root, 'bare.safetensors');
    const cfg = MODEL_PRESETS['fiber-tiny'];
    await writeFile(bare, writeSafetensors(exportWeights(paramSpecs(cfg, 'coarse'), initParams(cfg, 'coarse', 0))));
    await rejects({ checkpoint: bare, data: [data.coarse], task: 'retrieval' }, 'fiber.eval.preset', 'usage', /--preset is needed/);
  });

  it('evaluates with the tokenizer recorded with the weights, and refuses another vocabulary (data.tokenizer or --tokenizer)', async () => {
    const cfg = MODEL_PRESETS['fiber-tiny'];
    const weights = exportWeights(paramSpecs(cfg, 'coarse'), initParams(cfg, 'coarse', 0));
    const file = join(root, 'recorded.safetensors');
    // Weights that record a vocabulary other than the default one, at the location "default".
    const other = { ...tokenizerIdentity(defaultTokenizer(), 'default'), sha256: 'f'.repeat(64) };
    await writeFile(file, writeSafetensors(weights, { preset: 'fiber-tiny', ...tokenizerMetadata(other) }));
    for (const [extra, field] of [[{}, 'data.tokenizer'], [{ tokenizer: 'default' }, '--tokenizer']] as const) {
      await assert.rejects(evaluateCheckpoint(store, { checkpoint: file, data: [data.coarse], task: 'retrieval', ...extra }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.field, field);
        assert.match(err.message, /is not the tokenizer .*recorded\.safetensors was trained with \(default, sha256 ffffffffffff\)/);
        return true;
      });
    }
    await writeFile(file, writeSafetensors(weights, { preset: 'fiber-tiny', ...tokenizerMetadata(tokenizerIdentity(defaultTokenizer(), 'default')) }));
    const r = await evaluateCheckpoint(store, { checkpoint: file, data: [data.coarse], task: 'retrieval', limit: 4 });
    assert.equal(r.n, 4);
  });
});
