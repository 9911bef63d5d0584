import { parseRunConfig } from '../config/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { StorageError, UsageError } from '../errors/index.js';
import type { Stage } from '../model/param-spec.js';
import { planStage } from '../stage/plan-stage.js';
import { writeSafetensors, type SafeData } from '../model/safetensors.js';
import { loadFlatParams, resolveCheckpoint, sha256 } from './checkpoint-io.js';
import { MODEL_FILE } from './checkpoint-layout.js';
import { joinUrl } from '../storage/url.js';
import { copyTokenizerFiles, tokenizerOf, type ExportTokenizer } from './export-tokenizer.js';
import { numel } from '../model/param-spec.js';

export const EXPORT_FORMAT = 'fiber.export/v1';
export const EXPORT_CONFIG_FILE = 'config.json';

/** What `fiber model export` wrote (also its --json output). */
export interface ExportResult {
  readonly format: typeof EXPORT_FORMAT;
  /** The step directory read (a stage directory resolves through its `latest`). */
  readonly checkpoint: string;
  readonly out: string;
  readonly run: string;
  readonly stage: Stage;
  readonly step: number;
  readonly preset: string;
  readonly tensors: number;
  readonly parameters: number;
  readonly weights: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly tokenizer: ExportTokenizer;
}

/**
 * Any step's checkpoint (not only the final one, which alone has model.safetensors) as one
 * PyTorch-loadable folder: the shard files consolidated into `model.safetensors`, parameters only
 * (AdamW moments stay behind), under the reference's names and shapes in manifest order, plus
 * `config.json` saying what the weights are: model config, preset, stage, step, run, tokenizer.
 * The manifest's names are checked against the model its config describes, so an export never
 * silently carries names a reference loader would not know.
 */
export async function exportCheckpoint(store: ObjectStore, uri: string, outDir: string): Promise<ExportResult> {
  let resolved;
  try {
    resolved = await resolveCheckpoint(store, uri);
  } catch (err) {
    if (err instanceof StorageError && err.code === 'fiber.checkpoint.not_found') {
      throw new UsageError(`CHECKPOINT ${uri}: no checkpoint there (expected a step directory with manifest.json or a stage directory with latest)`, 'fiber.export.checkpoint', { uri });
    }
    throw err;
  }
  const { stepDir, manifest } = resolved;
  const config = parseRunConfig(manifest.config);
  const stage = manifest.stage as Stage;
  const { specs } = planStage(config, stage);
  const drift = specs.length !== manifest.params.length
    || specs.some((s, i) => s.name !== manifest.params[i]!.name || numel(s.shape) !== numel(manifest.params[i]!.shape));
  if (drift) throw new StorageError(`${stepDir}: its parameter list is not the ${stage} model of its own config; it was written by another fiber version`, 'fiber.export.params', { stepDir });
  let existing: string[];
  try {
    existing = await store.list(outDir);
  } catch (err) {
    // A local --out that is a file (ENOTDIR) or unreadable is the user's to fix: exit 2.
    if (err instanceof StorageError || ['ENOTDIR', 'EACCES'].includes((err as { code?: string }).code ?? '')) {
      throw new UsageError(`--out ${outDir} is not a folder fiber can write into: ${(err as Error).message}`, 'fiber.export.out', { out: outDir });
    }
    throw err;
  }
  if (existing.length > 0) throw new UsageError(`--out ${outDir} is not empty; export into a new folder so no stale tokenizer or weights file is mixed in`, 'fiber.export.out', { out: outDir });

  const flat = await loadFlatParams(store, stepDir, manifest);
  const entries = new Map<string, { shape: readonly number[]; data: SafeData }>();
  let at = 0;
  for (const p of manifest.params) {
    const n = numel(p.shape);
    entries.set(p.name, { shape: p.shape, data: flat.subarray(at, at + n) });
    at += n;
  }
  // `format: pt` is what safetensors' torch loader and transformers expect in the metadata.
  const bytes = writeSafetensors(entries, { format: 'pt', fiber: EXPORT_FORMAT, stage, step: String(manifest.step) });
  await store.write(joinUrl(outDir, MODEL_FILE), bytes);

  const tok = tokenizerOf(manifest);
  const tokenizer: ExportTokenizer = { ...tok, files: await copyTokenizerFiles(store, tok.location, outDir) };
  const result: ExportResult = {
    format: EXPORT_FORMAT, checkpoint: stepDir, out: outDir, run: manifest.run, stage, step: manifest.step, preset: config.model.preset,
    tensors: entries.size, parameters: flat.length, weights: { file: MODEL_FILE, bytes: bytes.length, sha256: sha256(bytes) }, tokenizer,
  };
  const described = { ...result, configHash: manifest.configHash, init: manifest.init, model: config.model };
  await store.write(joinUrl(outDir, EXPORT_CONFIG_FILE), Buffer.from(`${JSON.stringify(described, null, 1)}\n`));
  return result;
}
