import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObjectStore } from '../../src/storage/object-store.js';
import { loadTokenizerWithIdentity } from '../../src/data/pipeline/tokenizer-identity.js';
import { hfRobertaStateDictKeys, hfToReferenceName } from '../../src/model/hf-roberta-keys.js';
import { MODEL_PRESETS } from '../../src/model/model-config.js';
import { IMAGE_PREFIX, paramSpecs, TEXT_PREFIX } from '../../src/model/param-spec.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/model/safetensors.js';
import { timmSwinStateDictKeys } from '../../src/model/timm-swin-keys.js';
import { loadNamedWeights } from '../../src/ps/checkpoint-io.js';
import { runFiber } from '../helpers/cli.js';
import { startCluster, waitForStage } from '../helpers/cluster.js';
import { fiberCoarseReferenceKeys } from '../helpers/fiber-reference-keys.js';
import { stateDictFile } from '../helpers/pretrained-files.js';
import { robertaBaseDir } from '../helpers/roberta-base.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * Pretrained start to PyTorch export, end to end with real processes at fiber-tiny sizes and the
 * real naming schemes: timm-0.4 Swin (in22k head, buffers) and HF RobertaForMaskedLM files written
 * from the published key lists -> `fiber model init --timm-swin --hf-roberta` -> a 2-step coarse
 * stage on 1 shard + 1 worker starting from it -> `fiber model export` of a middle step and of the
 * stage's latest. Names, shapes and values must survive the whole trip.
 */
const cfg = MODEL_PRESETS['fiber-tiny'];
const STEPS = 2;
const pythonSkip = (() => {
  const r = spawnSync('python3', ['-c', 'import safetensors.numpy, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? false : `python3 with safetensors and numpy is not available (${(r.stderr || String(r.error)).trim().split('\n').pop()}); pip install safetensors numpy to run this check`;
})();

/** FIBER coarse keys that exist on one side only; load_state_dict(strict=False) needs exactly these (docs/model.md). */
const REFERENCE_ONLY = [
  /^(image|text)_queue$/, /^(image_input|text_input|text_input_mask)_queue$/, /^queue_(ptr|total)$/,
  /^rank_output\.(weight|bias)$/, /\.relative_position_index$/, /\.attn_mask$/,
  /^text_transformer\.embeddings\.position_ids$/, /^text_transformer\.pooler\.dense\.(weight|bias)$/,
];

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const roberta = robertaBaseDir();

describe('pretrained start -> coarse stage -> fiber model export (real processes)', { timeout: 600_000, skip: roberta.skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'fiber-export-'));
  const stageDir = join(root, 'ckpt', 'rt', 'coarse');
  let redis: TestRedis;
  let timm: Map<string, SafeTensor>;
  let hf: Map<string, SafeTensor>;
  let maxTextLen = 0;
  let tokenizerHash = '';

  before(async () => {
    timm = stateDictFile(timmSwinStateDictKeys(cfg, { layout: 'timm-0.4', numClasses: 21841 }), 101);
    hf = stateDictFile(hfRobertaStateDictKeys(cfg, { model: 'masked-lm' }), 102);
    writeFileSync(join(root, 'swin.safetensors'), writeSafetensors(timm));
    writeFileSync(join(root, 'roberta.safetensors'), writeSafetensors(hf));
    // roberta-base's own tokenizer: --hf-roberta requires one, and it must reach the export.
    const init = await runFiber(['model', 'init', '--preset', 'fiber-tiny', '--seed', '1', '--out', join(root, 'init.safetensors'),
      '--timm-swin', join(root, 'swin.safetensors'), '--hf-roberta', join(root, 'roberta.safetensors'), '--tokenizer', roberta.dir!]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /timm-swin: loaded \d+ tensors .*\(timm-0\.4 layout\), ignored 12:/);
    const synth = await runFiber(['data', 'synth', '--out', `file://${root}/shapes`, '--count', '8', '--size', '64', '--json']);
    assert.equal(synth.code, 0, synth.stderr);
    const pattern = (JSON.parse(synth.stdout) as { coarse: { pattern: string } }).coarse.pattern;
    redis = await startRedis();
    const cluster = startCluster(redis.url, 1, 1);
    try {
      const sets = [
        `data.coarse.shards=${pattern}`, `optimizer.coarse.totalSteps=${STEPS}`, 'optimizer.coarse.warmupSteps=1',
        'batch.coarse.globalBatch=2', 'batch.coarse.microBatch=2', 'batch.coarse.tasksPerStep=1',
        `checkpoint.uri=${join(root, 'ckpt')}`, 'checkpoint.everySteps=1', 'checkpoint.keepLast=10', `data.tokenizer=${roberta.dir!}`,
      ].flatMap((s) => ['--set', s]);
      const sub = await runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', 'rt', '--init', join(root, 'init.safetensors'), ...sets], { FIBER_REDIS_URL: redis.url });
      assert.equal(sub.code, 0, sub.stderr);
      const stage = await waitForStage(redis.client, 'rt', 'coarse', 500_000);
      assert.equal(stage.state, 'completed', `${stage.error}\n${cluster.logs()}`);
    } finally {
      await cluster.stop();
    }
    const manifest = JSON.parse(readFileSync(join(stageDir, 'step-00000001', 'manifest.json'), 'utf8')) as { config: { data: { coarse: { maxTextLen: number } } }; tokenizer: { sha256: string } };
    maxTextLen = manifest.config.data.coarse.maxTextLen;
    tokenizerHash = manifest.tokenizer.sha256;
    const tokStore = createObjectStore();
    const robertaHash = await loadTokenizerWithIdentity(roberta.dir!, tokStore).then((t) => t.identity.sha256).finally(() => tokStore.close());
    assert.equal(tokenizerHash, robertaHash, 'the stage recorded roberta-base\'s tokenizer');
    for (const [uri, out] of [[join(stageDir, 'step-00000001'), join(root, 'exp-1')], [`file://${stageDir}`, join(root, 'exp-latest')]] as const) {
      const r = await runFiber(['model', 'export', uri, '--out', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await redis?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const exported = (dir: string) => readSafetensors(readFileSync(join(root, dir, 'model.safetensors'))).tensors;

  it('the export loads into FIBER\'s coarse state dict by name and shape; what is left over is exactly the documented strict=False list', () => {
    const ref = fiberCoarseReferenceKeys(cfg, maxTextLen);
    for (const dir of ['exp-1', 'exp-latest']) {
      const exp = exported(dir);
      const notInReference = [...exp.keys()].filter((k) => !ref.has(k));
      assert.deepEqual(notInReference, [], `${dir}: names FIBER would reject`);
      for (const [k, t] of exp) assert.deepEqual(t.shape, ref.get(k), `${dir}: ${k}`);
      const referenceOnly = [...ref.keys()].filter((k) => !exp.has(k)).sort();
      assert.deepEqual(referenceOnly, [...ref.keys()].filter((k) => REFERENCE_ONLY.some((r) => r.test(k))).sort());
      assert.equal(referenceOnly.length, 7 + 2 + 8 + 2 + 1 + 2, 'queues, rank_output, 8 index + 2 mask buffers, position_ids, pooler');
      assert.ok([...exp.values()].every((t) => t.dtype === 'F32'), 'parameters only, float32');
      assert.ok(![...exp.keys()].some((k) => k.startsWith('optimizer.')), 'no AdamW moments');
    }
  });

  it('the pretrained backbones started the stage bit for bit and were then trained, under the same names', async () => {
    const store = createObjectStore();
    try {
      const step0 = await loadNamedWeights(store, join(stageDir, 'step-00000000'));
      const last = exported('exp-latest');
      const backbone = paramSpecs(cfg, 'coarse').filter((s) => s.component === 'image_backbone' || s.component === 'text_backbone');
      const fromFile = (name: string) => (name.startsWith(IMAGE_PREFIX) ? timm.get(name.slice(IMAGE_PREFIX.length)) : hf.get(`roberta.${hfToReferenceName(name.slice(TEXT_PREFIX.length))}`))!.data as Float32Array;
      const unmoved: string[] = [];
      for (const s of backbone) {
        assert.ok(bits(step0.get(s.name)!).equals(bits(fromFile(s.name))), `${s.name}: step 0 is the pretrained file's value`);
        if (bits(last.get(s.name)!.data as Float32Array).equals(bits(fromFile(s.name)))) unmoved.push(s.name);
      }
      assert.deepEqual(unmoved, [], 'every backbone tensor trained');
    } finally {
      await store.close();
    }
  });

  it('a stage directory exports its latest step, consolidated bit for bit as the final model.safetensors; a middle step exports too', () => {
    const final = readSafetensors(readFileSync(join(stageDir, `step-0000000${STEPS}`, 'model.safetensors'))).tensors;
    const latest = exported('exp-latest');
    assert.deepEqual([...latest.keys()], [...final.keys()]);
    for (const [k, t] of final) assert.ok(bits(latest.get(k)!.data as Float32Array).equals(bits(t.data as Float32Array)), k);
    const middle = exported('exp-1');
    assert.ok(!bits(middle.get('temp')!.data as Float32Array).equals(bits(latest.get('temp')!.data as Float32Array)) || !bits(middle.get('itm_score.fc.weight')!.data as Float32Array).equals(bits(latest.get('itm_score.fc.weight')!.data as Float32Array)), 'step 1 is not step 2');
  });

  it('config.json says what the weights are: model config, preset, stage, step, run, tokenizer', () => {
    for (const [dir, step] of [['exp-1', 1], ['exp-latest', STEPS]] as const) {
      const c = JSON.parse(readFileSync(join(root, dir, 'config.json'), 'utf8')) as Record<string, unknown> & { model: Record<string, unknown>; tokenizer: Record<string, unknown>; weights: { sha256: string } };
      assert.equal(c.format, 'fiber.export/v1');
      assert.deepEqual([c.run, c.stage, c.step, c.preset], ['rt', 'coarse', step, 'fiber-tiny']);
      assert.equal(c.model.vocabSize, cfg.vocabSize);
      assert.deepEqual(c.model.imageDepths, cfg.imageDepths);
      assert.equal(c.init, join(root, 'init.safetensors'));
      const tok = c.tokenizer as { location: string; hash: string; files: string[] };
      assert.equal(tok.location, roberta.dir);
      assert.equal(tok.hash, tokenizerHash, 'the hash the run recorded');
      assert.deepEqual([...tok.files].sort(), ['merges.txt', 'vocab.json']);
      for (const f of tok.files) assert.ok(readFileSync(join(root, dir, f)).equals(readFileSync(join(roberta.dir!, f))), `${f} copied byte for byte`);
      assert.equal(c.weights.sha256, spawnSync('sha256sum', [join(root, dir, 'model.safetensors')], { encoding: 'utf8' }).stdout.split(' ')[0]);
    }
  });

  it('Python\'s safetensors reads the export: same names, shapes and values', { skip: pythonSkip }, () => {
    const script = [
      'import json, sys', 'from safetensors.numpy import load_file',
      't = load_file(sys.argv[1])',
      'print(json.dumps({k: [list(v.shape), str(v.dtype), [float(x) for x in v.reshape(-1)[:3]]] for k, v in t.items()}))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, join(root, 'exp-latest', 'model.safetensors')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout) as Record<string, [number[], string, number[]]>;
    const ts = exported('exp-latest');
    assert.deepEqual(Object.keys(py).sort(), [...ts.keys()].sort());
    for (const [k, t] of ts) {
      assert.deepEqual(py[k]![0], [...t.shape], k);
      assert.equal(py[k]![1], 'float32', k);
      assert.deepEqual(py[k]![2], Array.from((t.data as Float32Array).subarray(0, 3)), k);
    }
  });

  it('bad input is a usage error (exit 2) naming what to fix', async () => {
    const none = await runFiber(['model', 'export', join(root, 'nowhere'), '--out', join(root, 'x')]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /CHECKPOINT .*nowhere: no checkpoint there/);
    const busy = await runFiber(['model', 'export', stageDir, '--out', join(root, 'exp-1')]);
    assert.equal(busy.code, 2, busy.stderr);
    assert.match(busy.stderr, /--out .*exp-1 is not empty/);
    const file = await runFiber(['model', 'export', stageDir, '--out', join(root, 'init.safetensors')]);
    assert.equal(file.code, 2, file.stderr);
    assert.match(file.stderr, /--out .*init\.safetensors is not a folder/);
    const noOut = await runFiber(['model', 'export', stageDir]);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /--out/);
  });
});
