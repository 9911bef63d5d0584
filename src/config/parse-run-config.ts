import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { MODEL_PRESETS, MODEL_PRESET_NAMES, type ModelPresetName } from '../model/model-config.js';
import { isPlainObject, mergeLayers, parseSetOverrides } from './overrides.js';
import { DEFAULT_PRESET, PRESET_NAMES, isPresetName, presetConfig, type PresetName } from './presets.js';
import type { RunConfig } from './run-config.js';
import { runConfigSchema } from './run-config-schema.js';
import { STAGE_NAMES } from './stage.js';

type Plain = Record<string, unknown>;

export interface RunConfigSources {
  /** `--preset`; wins over a `preset:` key in the file. */
  readonly preset?: string;
  /** Parsed config file contents (see loadConfigFile). */
  readonly file?: Plain;
  /** Repeated `--set key.path=value`, applied last, in order. */
  readonly sets?: readonly string[];
}

/**
 * The boundary: preset, then file, then `--set`, merged and validated into a readonly RunConfig.
 * Throws ConfigError naming the first bad field (all problems are listed in the message).
 */
export function resolveRunConfig(sources: RunConfigSources): RunConfig {
  const user = mergeLayers(normalise(sources.file ?? {}), normalise(parseSetOverrides(sources.sets ?? [])));
  const presetName = pickPreset(sources.preset, user.preset);
  const base = presetConfig(presetName);

  // A model preset other than the run's swaps the model sizes before the user's explicit model
  // fields apply.
  const userModel = isPlainObject(user.model) ? user.model : {};
  const modelPreset = userModel.preset ?? presetName;
  if (typeof modelPreset !== 'string' || !(MODEL_PRESET_NAMES as readonly string[]).includes(modelPreset)) {
    throw new ConfigError('model.preset', `unknown model preset ${JSON.stringify(modelPreset)}; accepted: ${MODEL_PRESET_NAMES.join(', ')}`);
  }
  const sizes = MODEL_PRESETS[modelPreset as ModelPresetName];
  base.model = { preset: modelPreset, ...sizes, imageDepths: [...sizes.imageDepths], imageHeads: [...sizes.imageHeads] };

  return parseRunConfig(mergeLayers(base, { ...user, preset: presetName }));
}

/** Validate a complete config (e.g. one read back from a job payload). */
export function parseRunConfig(input: unknown): RunConfig {
  const result = runConfigSchema.safeParse(input);
  if (!result.success) throw issuesToError(result.error.issues, input);
  const config = result.data;
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw toConfigError(problems);
  return deepFreeze(config) as RunConfig;
}

function pickPreset(flag: string | undefined, fromFile: unknown): PresetName {
  const name = flag ?? fromFile ?? DEFAULT_PRESET;
  if (typeof name !== 'string' || !isPresetName(name)) {
    throw new ConfigError(flag !== undefined ? '--preset' : 'preset', `unknown preset ${JSON.stringify(name)}; accepted: ${PRESET_NAMES.join(', ')}`);
  }
  return name;
}

/** Shorthands users write: `model: fiber-small`, `shards: s3://one/{0..9}.tar`. */
function normalise(layer: Plain): Plain {
  const out = { ...layer };
  if (typeof out.model === 'string') out.model = { preset: out.model };
  if (isPlainObject(out.data)) {
    const data: Plain = { ...out.data };
    for (const stage of STAGE_NAMES) {
      const section = data[stage];
      if (isPlainObject(section) && typeof section.shards === 'string') data[stage] = { ...section, shards: [section.shards] };
    }
    out.data = data;
  }
  return out;
}

interface Problem { field: string; message: string }

/**
 * Keys that existed once, with what to write instead: a config written for an older fiber fails
 * with this rather than a bare "unknown key" (docs/decisions.md, "One image size").
 */
const REMOVED_KEYS: Readonly<Record<string, string>> = {
  'data.coarse.imageSize': 'was removed: coarse images are resized to model.imageSize, which also sets the Swin window; set model.imageSize instead',
};

function crossFieldProblems(c: z.infer<typeof runConfigSchema>): Problem[] {
  const p: Problem[] = [];
  const m = c.model;
  for (const stage of STAGE_NAMES) {
    const b = c.batch[stage];
    if (b.globalBatch % (b.microBatch * b.tasksPerStep) !== 0) {
      p.push({ field: `batch.${stage}.globalBatch`, message: `${b.globalBatch} is not divisible by microBatch x tasksPerStep = ${b.microBatch} x ${b.tasksPerStep} = ${b.microBatch * b.tasksPerStep}; every task must accumulate the same whole number of micro-batches` });
    }
    const d = c.data[stage];
    if (d.weights.length > 0 && d.weights.length !== d.shards.length) {
      p.push({ field: `data.${stage}.weights`, message: `has ${d.weights.length} entries but data.${stage}.shards has ${d.shards.length}; give one weight per shard pattern, or none` });
    }
    d.shards.forEach((url, i) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(s3|file|https?):\/\//.test(url)) p.push({ field: `data.${stage}.shards[${i}]`, message: `"${url}" has an unsupported scheme; accepted: s3://, file://, http://, https:// or a local path` });
    });
    if (d.maxTextLen + 2 > m.maxPositions) {
      p.push({ field: `data.${stage}.maxTextLen`, message: `${d.maxTextLen} needs ${d.maxTextLen + 2} positions but model.maxPositions is ${m.maxPositions}` });
    }
    const o = c.optimizer[stage];
    const warm = o.warmupSteps ?? Math.round(o.warmupFraction * o.totalSteps);
    if (warm > o.totalSteps) p.push({ field: `optimizer.${stage}.warmupSteps`, message: `${warm} warmup steps exceed totalSteps ${o.totalSteps}` });
    if (o.schedule === 'multistep' && o.milestones.length === 0) p.push({ field: `optimizer.${stage}.milestones`, message: 'the multistep schedule needs at least one milestone (fractions of totalSteps, e.g. [0.67, 0.89])' });
    if (o.milestones.some((x, i) => i > 0 && x <= o.milestones[i - 1]!)) p.push({ field: `optimizer.${stage}.milestones`, message: `must increase strictly, got [${o.milestones.join(', ')}]` });
  }
  if (c.data.fine.minSizes.some((s) => s > c.data.fine.maxSize)) {
    p.push({ field: 'data.fine.minSizes', message: `every size must be <= data.fine.maxSize (${c.data.fine.maxSize})` });
  }
  if (m.textHidden % m.textHeads !== 0) p.push({ field: 'model.textHidden', message: `${m.textHidden} is not divisible by model.textHeads (${m.textHeads})` });
  m.imageHeads.forEach((h, i) => {
    const dim = m.imageEmbedDim * 2 ** i;
    if (dim % h !== 0) p.push({ field: `model.imageHeads[${i}]`, message: `stage ${i + 1} width ${dim} is not divisible by ${h} heads` });
  });
  const [, , d3, d4] = m.imageDepths;
  if (m.numFusionLayers > m.textLayers || m.numFusionLayers < d4 || m.numFusionLayers - d4 > d3) {
    p.push({ field: 'model.numFusionLayers', message: `${m.numFusionLayers} must fuse every stage-4 block (${d4}), at most all ${d3} stage-3 blocks, and at most model.textLayers (${m.textLayers})` });
  }
  if (!/^(s3|file):\/\//.test(c.checkpoint.uri) && /^[a-z][a-z0-9+.-]*:\/\//i.test(c.checkpoint.uri)) {
    p.push({ field: 'checkpoint.uri', message: `"${c.checkpoint.uri}": accepted are s3://bucket/prefix, file:///path or a local path` });
  }
  return p;
}

function issuesToError(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigError {
  return toConfigError(issues.flatMap((issue): Problem[] => {
    const field = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const all = issue.keys.map((k) => (field ? `${field}.${k}` : k));
      const removed = all.filter((k) => k in REMOVED_KEYS).map((k) => ({ field: k, message: REMOVED_KEYS[k]! }));
      const keys = all.filter((k) => !(k in REMOVED_KEYS));
      if (keys.length === 0) return removed;
      return [...removed, { field: keys[0]!, message: `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}${acceptedKeys(issue.path)}` }];
    }
    const got = valueAt(input, issue.path);
    return [{ field, message: `${issue.message}${got === undefined ? ' (missing)' : ` (got ${JSON.stringify(got)})`}` }];
  }));
}

function toConfigError(problems: Problem[]): ConfigError {
  const [first, ...rest] = problems;
  const extra = rest.length > 0 ? `\n${rest.map((r) => `  also ${r.field}: ${r.message}`).join('\n')}` : '';
  return new ConfigError(first!.field, `${first!.message}${extra}`, { problems });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function acceptedKeys(path: readonly PropertyKey[]): string {
  let shape: unknown = runConfigSchema;
  for (const k of path) {
    const s = (shape as { shape?: Record<string, unknown> }).shape;
    shape = s?.[String(k)];
  }
  const keys = Object.keys((shape as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
  return keys.length > 0 ? `; accepted: ${keys.join(', ')}` : '';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
