import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { defaultTokenizer, loadTokenizer } from '../../src/data/pipeline/text-tokenizer.js';
import { tokenizerIdentity, tokenizerMetadata, type TokenizerIdentity } from '../../src/data/pipeline/tokenizer-identity.js';
import { ConfigError } from '../../src/errors/index.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { commitCheckpoint, readLatest } from '../../src/ps/checkpoint-io.js';
import { CHECKPOINT_FORMAT, type CheckpointManifest } from '../../src/ps/checkpoint-layout.js';
import { stageTokenizer } from '../../src/ps/stage-tokenizer.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, waitForStage } from '../helpers/cluster.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { robertaBaseDir } from '../helpers/roberta-base.js';
import { cocoDevDir } from '../helpers/coco-dev.js';
import { packCocoDevSubset } from '../helpers/eval-fixtures.js';

const roberta = robertaBaseDir();
const DEFAULT_ID = tokenizerIdentity(defaultTokenizer(), 'default');

/** A committed checkpoint whose manifest records `tokenizer` (tensors play no part in the check). */
async function fakeCheckpoint(store: ObjectStore, stageDir: string, step: number, tokenizer: TokenizerIdentity | undefined): Promise<string> {
  const name = `step-${String(step).padStart(8, '0')}`;
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT, run: 'r', stage: 'coarse', step, configHash: 'x', config: {}, numShards: 1, totalElements: 0, params: [], files: [], model: null,
    dataCursor: { nextStep: step }, seeds: { seed: 0 }, init: null, createdAt: new Date(0).toISOString(), ...(tokenizer ? { tokenizer } : {}),
  };
  await commitCheckpoint(store, stageDir, name, manifest);
  return join(stageDir, name);
}

describe('stageTokenizer: data.tokenizer against the model and the starting weights', { skip: roberta.skip }, () => {
  let dir: string;
  let store: ObjectStore;
  let rb: TokenizerIdentity;
  const config = () => resolveRunConfig({ preset: 'fiber-tiny', sets: [`data.tokenizer=${roberta.dir}`] });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fiber-stagetok-'));
    store = createObjectStore();
    rb = tokenizerIdentity(await loadTokenizer(roberta.dir!, store), roberta.dir!);
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a fine stage from a coarse checkpoint trained with another tokenizer is refused, naming data.tokenizer; the same one passes', async () => {
    const coarse = await fakeCheckpoint(store, join(dir, 'a', 'coarse'), 50, DEFAULT_ID);
    await assert.rejects(stageTokenizer(config(), { kind: 'init', init: coarse }, store), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, 'data.tokenizer');
      assert.match(err.message, new RegExp(`is not the tokenizer the init checkpoint ${coarse} was trained with \\(default, sha256 ${DEFAULT_ID.sha256.slice(0, 12)}\\)`));
      return true;
    });
    // The stage directory (its latest) records the same.
    await assert.rejects(stageTokenizer(config(), { kind: 'init', init: join(dir, 'a', 'coarse') }, store), { code: 'fiber.config.invalid' });
    const same = await fakeCheckpoint(store, join(dir, 'b', 'coarse'), 50, rb);
    const ok = await stageTokenizer(config(), { kind: 'init', init: same }, store);
    assert.deepEqual(ok, { identity: rb, unknown: null });
  });

  it('resuming a stage whose own checkpoint records another tokenizer is refused', async () => {
    const stageDir = join(dir, 'c', 'fine');
    await fakeCheckpoint(store, stageDir, 20, { ...rb, sha256: '0'.repeat(64) });
    const latest = (await readLatest(store, stageDir))!;
    await assert.rejects(stageTokenizer(config(), { kind: 'resume', ...latest }, store), /data\.tokenizer: .* is not the tokenizer this stage's checkpoint .*step-00000020 was trained with/);
  });

  it('a .safetensors --init is checked by its fiber.tokenizer metadata (fiber model init --tokenizer)', async () => {
    const file = join(dir, 'init.safetensors');
    const tensors = new Map([['x', { shape: [1], data: new Float32Array(1) }]]);
    await writeFile(file, writeSafetensors(tensors, { format: 'fiber', ...tokenizerMetadata(DEFAULT_ID) }));
    await assert.rejects(stageTokenizer(config(), { kind: 'init', init: file }, store), { code: 'fiber.config.invalid' });
    await writeFile(file, writeSafetensors(tensors, { format: 'fiber', ...tokenizerMetadata(rb) }));
    assert.equal((await stageTokenizer(config(), { kind: 'init', init: file }, store)).unknown, null);
  });

  it('a checkpoint that records no tokenizer (older manifests) is unknown: passes, reported for a warning', async () => {
    const old = await fakeCheckpoint(store, join(dir, 'd', 'coarse'), 5, undefined);
    assert.equal((await stageTokenizer(config(), { kind: 'init', init: old }, store)).unknown, old);
    assert.equal((await stageTokenizer(config(), { kind: 'init', init: null }, store)).unknown, null);
  });

  it('a tokenizer with more ids than model.vocabSize is refused before anything else', async () => {
    const small = resolveRunConfig({ preset: 'fiber-tiny', sets: [`data.tokenizer=${roberta.dir}`, 'model.vocabSize=30000'] });
    await assert.rejects(stageTokenizer(small, { kind: 'init', init: null }, store), /data\.tokenizer: .* has ids up to 50264 but model\.vocabSize is 30000/);
  });
});

const coco = cocoDevDir();

describe('a run records its tokenizer and its fine stage refuses another one (real processes)', { skip: roberta.skip ?? coco.skip, timeout: 300_000 }, () => {
  let redis: TestRedis;
  let dir: string;
  before(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'fiber-stagetok-cli-'));
  });
  after(async () => {
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('coarse with roberta-base records its hash in every manifest; a fine stage from it with the default tokenizer fails at once naming data.tokenizer', async () => {
    const store = createObjectStore();
    const data = await packCocoDevSubset(coco.dir!, store, join(dir, 'data'), { coarse: 8, grounding: 4, detection: 0 });
    const ckpt = join(dir, 'ckpt');
    const common = ['--preset', 'fiber-tiny', '--set', `data.coarse.shards=${data.coarse}`, '--set', `data.fine.shards=${data.fine}`, '--set', `checkpoint.uri=${ckpt}`,
      '--set', 'optimizer.coarse.totalSteps=1', '--set', 'batch.coarse.globalBatch=4', '--set', 'batch.coarse.microBatch=2', '--set', 'batch.coarse.tasksPerStep=2'];
    const cluster = startCluster(redis.url, 1, 1);
    try {
      const coarseSub = await runFiber(['pretrain', '--stage', 'coarse', '--run', 'rb', ...common, '--set', `data.tokenizer=${roberta.dir}`], { FIBER_REDIS_URL: redis.url });
      assert.equal(coarseSub.code, 0, coarseSub.stderr);
      const coarse = await waitForStage(redis.client, 'rb', 'coarse', 240_000);
      assert.equal(coarse.state, 'completed', `${coarse.error}\n${cluster.logs()}`);
      const rb = tokenizerIdentity(await loadTokenizer(roberta.dir!, store), roberta.dir!);
      for (const step of ['step-00000000', 'step-00000001']) {
        const m = JSON.parse(await readFile(join(ckpt, 'rb', 'coarse', step, 'manifest.json'), 'utf8')) as CheckpointManifest;
        assert.deepEqual(m.tokenizer, rb, `${step} records the run's tokenizer`);
      }

      // A new run (another config: data.tokenizer default) starting from the coarse checkpoint.
      const fineSub = await runFiber(['pretrain', '--stage', 'fine', '--run', 'other', '--init', coarse.checkpoint!, ...common], { FIBER_REDIS_URL: redis.url });
      assert.equal(fineSub.code, 0, fineSub.stderr);
      const fine = await waitForStage(redis.client, 'other', 'fine', 60_000);
      assert.equal(fine.state, 'failed', cluster.logs());
      assert.match(fine.error ?? '', new RegExp(`data\\.tokenizer: default \\(tokenizer sha256 ${DEFAULT_ID.sha256.slice(0, 12)}\\) is not the tokenizer the init checkpoint .*rb/coarse/step-00000001 was trained with \\(${roberta.dir!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, sha256 ${rb.sha256.slice(0, 12)}\\)`));
      assert.equal(await readLatest(store, join(ckpt, 'other', 'fine')), null, 'no step-0 checkpoint was written');
    } finally {
      await cluster.stop();
      await store.close();
    }
  });
});
