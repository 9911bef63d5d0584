import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configHash, microStepsPerTask, parseRunConfig, PRESET_NAMES, resolveRunConfig, warmupSteps } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

describe('resolveRunConfig', () => {
  it('accepts every preset as it is', () => {
    for (const preset of PRESET_NAMES) {
      const c = resolveRunConfig({ preset });
      assert.equal(c.preset, preset);
      assert.equal(c.model.preset, preset);
    }
  });

  it('defaults to the paper recipe (reference §2.3 and §3.4)', () => {
    const c = resolveRunConfig({});
    assert.equal(c.preset, 'fiber-base');
    assert.deepEqual([c.model.imageEmbedDim, c.model.imageDepths, c.model.textHidden, c.model.numFusionLayers], [128, [2, 2, 18, 2], 768, 6]);
    const co = c.optimizer.coarse;
    assert.deepEqual([co.lr, co.betas, co.weightDecay, co.lrMultFusion, co.lrMultHead, co.schedule, co.totalSteps], [1e-5, [0.9, 0.98], 0.01, 5, 5, 'linear', 100_000]);
    assert.equal(warmupSteps(co), 10_000, '10% warmup of 100k steps');
    assert.equal(c.batch.coarse.globalBatch, 4096);
    assert.equal(microStepsPerTask(c.batch.coarse), 8, '64 tasks x 8 micro-batches of 8 = 4096');
    const fo = c.optimizer.fine;
    assert.deepEqual([fo.lr, fo.betas, fo.lrMultText, fo.lrMultBias, fo.schedule, fo.milestones, fo.gradClipNorm, warmupSteps(fo)], [1e-4, [0.9, 0.999], 0.1, 2, 'multistep', [0.67, 0.89], 1, 2000]);
    assert.equal(c.batch.fine.globalBatch, 64);
    assert.equal(c.data.coarse.maxTextLen, 40);
    assert.equal(c.data.fine.maxTextLen, 256);
  });

  it('layers preset < file < --set, in order', () => {
    const c = resolveRunConfig({
      preset: 'fiber-tiny',
      file: { seed: 7, batch: { coarse: { globalBatch: 32 } }, optimizer: { coarse: { lr: 0.001 } } },
      sets: ['seed=9', 'optimizer.coarse.lr=2e-3', 'optimizer.coarse.lr=3e-3'],
    });
    assert.equal(c.seed, 9);
    assert.equal(c.optimizer.coarse.lr, 3e-3, 'the last --set wins');
    assert.equal(c.batch.coarse.globalBatch, 32, 'file value kept');
    assert.equal(c.batch.coarse.microBatch, 4, 'preset value kept');
  });

  it('--preset wins over the file\'s preset key', () => {
    assert.equal(resolveRunConfig({ preset: 'fiber-tiny', file: { preset: 'fiber-small' } }).preset, 'fiber-tiny');
    assert.equal(resolveRunConfig({ file: { preset: 'fiber-small' } }).preset, 'fiber-small');
  });

  it('swaps model sizes for a model preset, then applies explicit model fields', () => {
    const c = resolveRunConfig({ preset: 'fiber-tiny', file: { model: 'fiber-small' }, sets: ['model.textLayers=8'] });
    assert.equal(c.model.preset, 'fiber-small');
    assert.equal(c.model.imageEmbedDim, 64);
    assert.equal(c.model.textLayers, 8);
    assert.equal(c.model.imageSize, 128, 'the image size is the model preset\'s');
    assert.equal(c.batch.coarse.globalBatch, 16, 'batching stays the run preset\'s');
  });

  it('takes a single shard pattern as a one-element list', () => {
    const c = resolveRunConfig({ preset: 'fiber-tiny', sets: ['data.coarse.shards=s3://b/cc3m/{000000..000331}.tar'] });
    assert.deepEqual(c.data.coarse.shards, ['s3://b/cc3m/{000000..000331}.tar']);
  });

  it('returns a frozen object', () => {
    const c = resolveRunConfig({ preset: 'fiber-tiny' });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.optimizer.coarse) && Object.isFrozen(c.model.imageDepths));
  });

  it('hashes equal configs equally, whatever the key order, and different ones differently', () => {
    const a = resolveRunConfig({ preset: 'fiber-tiny', file: { seed: 1, checkpoint: { keepLast: 2 } } });
    const b = resolveRunConfig({ preset: 'fiber-tiny', file: { checkpoint: { keepLast: 2 }, seed: 1 } });
    const c = resolveRunConfig({ preset: 'fiber-tiny', file: { seed: 2, checkpoint: { keepLast: 2 } } });
    assert.equal(configHash(a), configHash(b));
    assert.notEqual(configHash(a), configHash(c));
    assert.match(configHash(a), /^[0-9a-f]{12}$/);
  });
});

describe('resolveRunConfig errors name the field', () => {
  const cases: Array<{ why: string; sources: Parameters<typeof resolveRunConfig>[0]; field: string; message: RegExp }> = [
    { why: 'unknown top-level key', sources: { file: { sed: 1 } }, field: 'sed', message: /unknown key "sed".*accepted: preset, seed/ },
    { why: 'unknown nested key', sources: { sets: ['optimizer.coarse.momentum=0.9'] }, field: 'optimizer.coarse.momentum', message: /accepted: lr, betas/ },
    { why: 'wrong type', sources: { sets: ['batch.coarse.microBatch=eight'] }, field: 'batch.coarse.microBatch', message: /expected number.*"eight"/ },
    { why: 'negative batch', sources: { sets: ['batch.fine.globalBatch=-64'] }, field: 'batch.fine.globalBatch', message: />0.*-64/ },
    { why: 'indivisible global batch', sources: { sets: ['batch.coarse.globalBatch=1000'] }, field: 'batch.coarse.globalBatch', message: /not divisible by microBatch x tasksPerStep = 8 x 64 = 512/ },
    { why: 'unknown preset', sources: { preset: 'fiber-huge' }, field: '--preset', message: /accepted: fiber-base, fiber-small, fiber-tiny/ },
    { why: 'unknown model preset', sources: { file: { model: 'swin-l' } }, field: 'model.preset', message: /accepted: fiber-tiny, fiber-small, fiber-base/ },
    { why: 'bad schedule', sources: { sets: ['optimizer.coarse.schedule=exp'] }, field: 'optimizer.coarse.schedule', message: /linear.*multistep/ },
    { why: 'image size not a multiple of 32', sources: { sets: ['model.imageSize=100'] }, field: 'model.imageSize', message: /multiple of 32/ },
    // One image size (docs/decisions.md): the old duplicate is refused, with what to set instead,
    // whether it agrees with model.imageSize or not, so it is never silently ignored.
    { why: 'the removed data.coarse.imageSize, disagreeing', sources: { preset: 'fiber-tiny', sets: ['data.coarse.imageSize=96'] }, field: 'data.coarse.imageSize', message: /was removed.*set model.imageSize instead/ },
    { why: 'the removed data.coarse.imageSize, agreeing, in a file', sources: { preset: 'fiber-tiny', file: { data: { coarse: { imageSize: 64 } } } }, field: 'data.coarse.imageSize', message: /was removed/ },
    { why: 'weights do not match shards', sources: { sets: ['data.coarse.shards=[s3://a/0.tar,s3://b/0.tar]', 'data.coarse.weights=[1]'] }, field: 'data.coarse.weights', message: /1 entries.*has 2/ },
    { why: 'unsupported shard scheme', sources: { sets: ['data.fine.shards=ftp://x/0.tar'] }, field: 'data.fine.shards[0]', message: /unsupported scheme; accepted: s3:\/\/, file:\/\// },
    { why: 'heads do not divide width', sources: { sets: ['model.textHeads=5'] }, field: 'model.textHidden', message: /not divisible by model.textHeads/ },
    { why: 'too many fused layers', sources: { sets: ['model.numFusionLayers=13'] }, field: 'model.numFusionLayers', message: /at most model.textLayers/ },
    { why: 'text longer than positions', sources: { sets: ['data.coarse.maxTextLen=600'] }, field: 'data.coarse.maxTextLen', message: /maxPositions is 514/ },
    { why: 'warmup longer than the stage', sources: { sets: ['optimizer.fine.warmupSteps=900000'] }, field: 'optimizer.fine.warmupSteps', message: /exceed totalSteps/ },
    { why: 'milestones not increasing', sources: { sets: ['optimizer.fine.milestones=[0.9,0.5]'] }, field: 'optimizer.fine.milestones', message: /increase strictly/ },
    { why: 'checkpoint over http', sources: { sets: ['checkpoint.uri=http://x/ckpt'] }, field: 'checkpoint.uri', message: /s3:\/\/bucket\/prefix/ },
    { why: 'malformed --set', sources: { sets: ['seed'] }, field: '--set', message: /key.path=value/ },
    { why: 'missing required field after an explicit null', sources: { sets: ['seed=null'] }, field: 'seed', message: /expected number/ },
  ];
  for (const c of cases) {
    it(c.why, () => {
      assert.throws(() => resolveRunConfig(c.sources), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.equal(err.field, c.field);
        assert.equal(err.code, 'fiber.config.invalid');
        assert.equal(err.kind, 'usage');
        assert.match(err.message, c.message);
        assert.ok(err.message.startsWith(`${c.field}: `), err.message);
        return true;
      });
    });
  }

  it('names the removed data.coarse.imageSize next to other unknown keys, and in a complete config (a job payload) too', () => {
    assert.throws(() => resolveRunConfig({ sets: ['data.coarse.imageSize=384', 'data.coarse.size=1'] }), (err: ConfigError) => {
      assert.equal(err.field, 'data.coarse.imageSize');
      assert.match(err.message, /also data.coarse.size: unknown key "data.coarse.size"; accepted: shards, weights, maxTextLen, mlmProbability/);
      return true;
    });
    const old = structuredClone(resolveRunConfig({ preset: 'fiber-tiny' })) as unknown as { data: { coarse: Record<string, unknown> } };
    old.data.coarse.imageSize = 64;
    assert.throws(() => parseRunConfig(old), (err: ConfigError) => err.field === 'data.coarse.imageSize' && /was removed/.test(err.message));
  });

  it('lists every problem, not just the first', () => {
    assert.throws(() => resolveRunConfig({ sets: ['seed=-1', 'batch.coarse.microBatch=0'] }), (err: ConfigError) => {
      assert.match(err.message, /also batch.coarse.microBatch/);
      return true;
    });
  });
});
