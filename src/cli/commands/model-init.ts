import { readFile, writeFile } from 'node:fs/promises';
import { UsageError } from '../../errors/index.js';
import { initParams } from '../../model/init-params.js';
import { MODEL_PRESETS, type ModelPresetName } from '../../model/model-config.js';
import { paramSpecs, type Stage } from '../../model/param-spec.js';
import { readSafetensors, writeSafetensors } from '../../model/safetensors.js';
import { importPretrained, type PretrainedSource } from '../../model/import-pretrained.js';
import { exportWeights } from '../../model/weight-io.js';
import { DEFAULT_TOKENIZER } from '../../config/tokenizer-location.js';
import { tokenizerMetadata } from '../../data/pipeline/tokenizer-identity.js';
import { checkRobertaTokenizer, loadFlagTokenizer, missingRobertaTokenizer } from './model-tokenizer.js';

/**
 * `fiber model init`: seeded weights under the reference names, optionally with the backbones
 * replaced by pretrained timm Swin / HF RoBERTa files (the reference's starting point: fusion
 * and heads fresh, gates at 0). No tensors are created.
 */
export async function modelInit(opts: { preset: string; stage: string; seed: string; out: string; timmSwin?: string; hfRoberta?: string; tokenizer?: string }): Promise<void> {
  const seed = Number(opts.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${opts.seed}`, 'fiber.model.seed');
  const config = MODEL_PRESETS[opts.preset as ModelPresetName];
  // Before any file is read: the cheapest mistake to report is the missing flag.
  if (opts.hfRoberta && (opts.tokenizer === undefined || opts.tokenizer === DEFAULT_TOKENIZER)) throw missingRobertaTokenizer(opts.hfRoberta);
  const tokenizer = opts.tokenizer !== undefined ? (await loadFlagTokenizer(opts.tokenizer, config.vocabSize)).identity : undefined;
  const stage = opts.stage as Stage;
  const specs = paramSpecs(config, stage);
  const values = initParams(config, stage, seed);
  const sources: Array<[PretrainedSource, string | undefined]> = [['timm-swin', opts.timmSwin], ['hf-roberta', opts.hfRoberta]];
  for (const [source, path] of sources) {
    if (!path) continue;
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      throw new UsageError(`--${source} ${path}: ${(err as Error).message}`, 'fiber.model.file');
    }
    const { tensors } = readSafetensors(buf);
    if (source === 'hf-roberta') checkRobertaTokenizer(tokenizer, tensors, path);
    const report = importPretrained(config, stage, values, source, tensors);
    process.stdout.write(`${source}: loaded ${report.loaded.length} tensors from ${path} (${report.layout} layout)${report.ignored.length ? `, ignored ${report.ignored.length}:` : ''}\n`);
    // One line per reason, not per tensor: Swin-B has 24 index buffers for the same reason.
    const byReason = new Map<string, string[]>();
    for (const { name, reason } of report.ignored) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
    for (const [reason, names] of byReason) process.stdout.write(`  ${names.length} x ${reason}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}\n`);
  }
  const weights = exportWeights(specs, values);
  // The tokenizer goes with the weights, so `fiber pretrain --init` and `fiber eval` can check it.
  await writeFile(opts.out, writeSafetensors(weights, { format: 'fiber', preset: opts.preset, stage, seed: String(seed), ...(tokenizer ? tokenizerMetadata(tokenizer) : {}) }));
  process.stdout.write(`wrote ${specs.length} tensors (${opts.preset}, ${stage}, seed ${seed}) to ${opts.out}\n`);
}
