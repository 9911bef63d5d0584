import { readFile, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { FiberError, UsageError } from '../../errors/index.js';
import { selectBackend } from '../../model/backend.js';
import type { EncoderMode } from '../../model/fiber-encoder.js';
import { FiberModel } from '../../model/fiber-model.js';
import { forwardOutputs } from '../../model/forward-outputs.js';
import { MODEL_PRESETS, type ModelPresetName } from '../../model/model-config.js';
import { paramSpecs } from '../../model/param-spec.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../model/safetensors.js';
import { importWeights } from '../../model/weight-io.js';
import type { FiberModelConfig } from '../../model/model-config.js';
import { DEFAULT_TOKENIZER } from '../../config/tokenizer-location.js';
import { checkSameTokenizer, tokenizerFromMetadata } from '../../data/pipeline/tokenizer-identity.js';
import { loadFlagTokenizer } from './model-tokenizer.js';

async function readFileOrThrow(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as Error).message}`, 'fiber.model.file');
  }
}

/** `fiber model forward`: inputs and outputs by name, see docs/model.md. */
export async function modelForward(opts: { preset: string; weights: string; inputs?: string; text?: string[]; tokenizer?: string; out: string; mode: string }): Promise<void> {
  const config = MODEL_PRESETS[opts.preset as ModelPresetName];
  const mode = opts.mode as EncoderMode;
  if (opts.inputs === undefined && (mode !== 'text' || !opts.text)) throw new UsageError(`--inputs is needed in ${mode} mode${mode === 'text' ? ' without --text' : ' (pixel_values)'}`, 'fiber.model.inputs');
  if (opts.tokenizer !== undefined && !opts.text) throw new UsageError('--tokenizer applies to --text only', 'fiber.model.inputs');
  await selectBackend();
  const specs = paramSpecs(config, 'coarse');
  const weights = new Map<string, Float32Array>();
  const weightsFile = readSafetensors(await readFileOrThrow(opts.weights, '--weights'));
  importWeights(specs, weights, weightsFile.tensors);
  const inputs = opts.inputs !== undefined ? readSafetensors(await readFileOrThrow(opts.inputs, '--inputs')).tensors : new Map<string, SafeTensor>();
  if (opts.text) {
    for (const [name, t] of await textInputs(opts.text, opts.tokenizer, weightsFile.metadata, config)) inputs.set(name, t);
  }
  const model = new FiberModel(config, 'coarse', weights);
  const need = (name: string, rank: number): SafeTensor => {
    const t = inputs.get(name);
    if (!t) throw new UsageError(`--inputs has no ${name} (needed in ${mode} mode)`, 'fiber.model.inputs');
    if (t.shape.length !== rank) throw new UsageError(`--inputs ${name} has shape [${t.shape.join(', ')}], expected rank ${rank}`, 'fiber.model.inputs');
    return t;
  };
  const toInt = (t: SafeTensor) => (t.data instanceof BigInt64Array ? Int32Array.from(t.data, (v) => Number(v)) : Int32Array.from(t.data));
  const feed: { pixelValues?: tf.Tensor; inputIds?: tf.Tensor; attentionMask?: tf.Tensor } = {};
  if (mode !== 'text') {
    const px = need('pixel_values', 4);
    if (px.shape[1] !== 3 || px.shape[2] !== config.imageSize || px.shape[3] !== config.imageSize) {
      throw new UsageError(`pixel_values must be [B, 3, ${config.imageSize}, ${config.imageSize}] for ${opts.preset}, got [${px.shape.join(', ')}]`, 'fiber.model.inputs');
    }
    feed.pixelValues = tf.tensor(Float32Array.from(px.data as Float32Array), [...px.shape]);
  }
  if (mode !== 'image') {
    const ids = need('input_ids', 2);
    const mask = need('attention_mask', 2);
    const ints = toInt(ids);
    if (ints.some((v) => v < 0 || v >= config.vocabSize)) throw new UsageError(`input_ids must lie in [0, ${config.vocabSize})`, 'fiber.model.inputs');
    feed.inputIds = tf.tensor(ints, [...ids.shape], 'int32');
    feed.attentionMask = tf.tensor(toInt(mask), [...mask.shape], 'int32');
  }
  let outputs: Map<string, tf.Tensor>;
  try {
    outputs = forwardOutputs(config, model.params, feed, mode);
  } catch (err) {
    if (err instanceof FiberError) throw err;
    throw new FiberError('fiber.model.forward', 'runtime', `forward failed: ${(err as Error).message}`, {}, { cause: err });
  }
  const file = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of outputs) file.set(name, { shape: t.shape, data: (await t.data()) as Float32Array });
  await writeFile(opts.out, writeSafetensors(file, { preset: opts.preset, mode }));
  tf.dispose([...outputs.values(), ...Object.values(feed)]);
  model.dispose();
  process.stdout.write(`${[...file].map(([n, t]) => `${n} [${t.shape.join(', ')}]`).join('\n')}\n`);
}

/**
 * input_ids and attention_mask [B, L] of `texts` (L: the longest, at most maxPositions - 2 with
 * `<s>` and `</s>`), padded with the tokenizer's `<pad>`. The tokenizer is `--tokenizer`, else the
 * one the weights record, else the default; a `--tokenizer` other than the recorded one is refused.
 */
async function textInputs(texts: readonly string[], flag: string | undefined, metadata: Record<string, string>, config: FiberModelConfig): Promise<Map<string, SafeTensor>> {
  const recorded = tokenizerFromMetadata(metadata);
  const { tokenizer, identity } = await loadFlagTokenizer(flag ?? recorded?.location ?? DEFAULT_TOKENIZER, config.vocabSize);
  checkSameTokenizer(recorded, identity, '--weights', '--tokenizer');
  const rows = texts.map((t) => tokenizer.encode(t, config.maxPositions - 2).ids);
  const l = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * l).fill(tokenizer.padId);
  const mask = new Int32Array(rows.length * l);
  rows.forEach((r, b) => {
    ids.set(r, b * l);
    mask.fill(1, b * l, b * l + r.length);
  });
  return new Map([['input_ids', { dtype: 'I32', shape: [rows.length, l], data: ids }], ['attention_mask', { dtype: 'I32', shape: [rows.length, l], data: mask }]]);
}
