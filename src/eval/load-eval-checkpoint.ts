import { parseStoredRunConfig, resolveRunConfig, type RunConfig } from '../config/index.js';
import { isPresetName } from '../config/presets.js';
import type { ObjectStore } from '../storage/object-store.js';
import { tokenizerFromMetadata, type TokenizerIdentity } from '../data/pipeline/tokenizer-identity.js';
import { StorageError, UsageError } from '../errors/index.js';
import type { Stage } from '../model/param-spec.js';
import { readSafetensors } from '../model/safetensors.js';
import { loadNamedWeights, readLatest, readManifest } from '../ps/checkpoint-io.js';
import type { CheckpointManifest } from '../ps/checkpoint-layout.js';

/** A checkpoint with everything eval needs to rebuild the model and its data transforms. */
export interface EvalCheckpoint {
  /** The step directory or file the weights were read from. */
  readonly resolved: string;
  /** The run config it was trained with (or the preset's, for a bare file). */
  readonly config: RunConfig;
  readonly stage: Stage;
  readonly step: number | null;
  readonly weights: Map<string, Float32Array>;
  /** The tokenizer recorded with the weights (manifest or file metadata); undefined: unknown. */
  readonly tokenizer?: TokenizerIdentity;
}

/**
 * Loads a checkpoint URI as the parameter server writes them (src/ps/checkpoint-layout.ts):
 *  - a step directory (`…/coarse/step-00000050`): weights and run config from its manifest;
 *  - a stage directory (`…/coarse`): the step its `latest` names;
 *  - a `.safetensors` file: the run config of `preset`, else of a manifest beside the file (a
 *    final checkpoint's model.safetensors), else of the preset recorded by `fiber model init`.
 * `preset` with a directory must agree with the run config there: it cannot change a trained
 * model's shape, so a different one is a mistake, not an override.
 */
export async function loadEvalCheckpoint(store: ObjectStore, uri: string, preset?: string): Promise<EvalCheckpoint> {
  if (uri.endsWith('.safetensors')) return loadFile(store, uri, preset);
  const { stepDir, manifest } = await resolveStepDir(store, uri);
  const config = parseStoredRunConfig(manifest.config);
  if (preset !== undefined && preset !== config.model.preset) {
    throw new UsageError(`--preset ${preset} contradicts ${stepDir}, trained as ${config.model.preset}; --preset is only needed for a bare .safetensors file`, 'fiber.eval.preset', { preset, trained: config.model.preset });
  }
  return { resolved: stepDir, config, stage: checkStage(manifest.stage, stepDir), step: manifest.step, weights: await loadNamedWeights(store, stepDir), ...tokenizerField(manifest.tokenizer) };
}

async function resolveStepDir(store: ObjectStore, uri: string): Promise<{ stepDir: string; manifest: CheckpointManifest }> {
  const dir = uri.replace(/\/+$/, '');
  try {
    return { stepDir: dir, manifest: await readManifest(store, dir) };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const latest = await readLatest(store, dir);
  if (latest) return latest;
  throw new StorageError(`--checkpoint ${uri}: no checkpoint there (neither a .safetensors file, a step directory with manifest.json, nor a stage directory with latest)`, 'fiber.checkpoint.not_found', { uri });
}

async function loadFile(store: ObjectStore, uri: string, preset: string | undefined): Promise<EvalCheckpoint> {
  let bytes: Buffer;
  try {
    bytes = await store.read(uri);
  } catch (err) {
    if (isNotFound(err)) throw new StorageError(`--checkpoint ${uri} does not exist`, 'fiber.checkpoint.not_found', { uri }, { cause: err });
    throw err;
  }
  const { tensors, metadata } = readSafetensors(bytes);
  const weights = new Map([...tensors].map(([k, t]) => [k, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Int32Array)]));
  const stage = stageOfWeights(weights, uri);
  const beside = await readManifest(store, parentUrl(uri)).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  const tokenizer = tokenizerField(tokenizerFromMetadata(metadata) ?? beside?.tokenizer);
  if (preset !== undefined) return { resolved: uri, config: resolveRunConfig({ preset }), stage, step: null, weights, ...tokenizer };
  if (beside) return { resolved: uri, config: parseStoredRunConfig(beside.config), stage, step: beside.step, weights, ...tokenizer };
  const recorded = metadata.preset;
  if (recorded !== undefined && isPresetName(recorded)) return { resolved: uri, config: resolveRunConfig({ preset: recorded }), stage, step: null, weights, ...tokenizer };
  throw new UsageError(`--preset is needed: ${uri} records no model preset and has no manifest.json beside it`, 'fiber.eval.preset', { uri });
}

/** Coarse weights carry the ITM head, fine ones the grounding head's scale. */
function stageOfWeights(weights: ReadonlyMap<string, Float32Array>, uri: string): Stage {
  if (weights.has('itm_score.fc.weight')) return 'coarse';
  if (weights.has('head.log_scale')) return 'fine';
  throw new UsageError(`${uri} holds neither coarse heads (itm_score.fc.weight) nor the fine head (head.log_scale): not a FIBER checkpoint`, 'fiber.eval.checkpoint', { uri });
}

function checkStage(stage: string, where: string): Stage {
  if (stage === 'coarse' || stage === 'fine') return stage;
  throw new StorageError(`${where}: manifest stage ${JSON.stringify(stage)} is neither coarse nor fine`, 'fiber.checkpoint.format');
}

function parentUrl(uri: string): string {
  const slash = uri.lastIndexOf('/');
  return slash < 0 ? '.' : uri.slice(0, slash);
}

function tokenizerField(t: TokenizerIdentity | undefined): { tokenizer?: TokenizerIdentity } {
  return t ? { tokenizer: t } : {};
}

function isNotFound(err: unknown): boolean {
  return err instanceof StorageError && err.code === 'fiber.storage.not_found';
}
