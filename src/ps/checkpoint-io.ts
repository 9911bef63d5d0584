import { createHash } from 'node:crypto';
import type { ObjectStore } from '../storage/object-store.js';
import { StorageError } from '../errors/index.js';
import { readSafetensors, writeSafetensors, type SafeData } from '../model/safetensors.js';
import {
  CHECKPOINT_FORMAT, LATEST_FILE, MANIFEST_FILE, MODEL_FILE, shardFileName,
  type CheckpointFile, type CheckpointManifest,
} from './checkpoint-layout.js';
import { joinUrl } from '../storage/url.js';
import { numel, type ServerParamSpec } from '../model/param-spec.js';
import { shardSlices, type ShardLayout } from '../stage/shard-layout.js';

/** A shard's tensors: parameters and (absent in an init checkpoint) the two AdamW moments. */
export interface ShardTensors {
  readonly params: Float32Array;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
}

const M_PREFIX = 'optimizer.exp_avg.';
const V_PREFIX = 'optimizer.exp_avg_sq.';

/**
 * One shard's safetensors file. A tensor wholly inside the shard keeps its name and PyTorch
 * shape (so a 1-shard checkpoint loads in PyTorch by name); a piece of a split tensor is stored
 * flat as `name@<element offset>`. Moments are stored under `optimizer.exp_avg(_sq).` + the same.
 */
export function encodeShard(specs: readonly ServerParamSpec[], layout: ShardLayout, shard: number, t: ShardTensors, step: number): Buffer {
  const entries = new Map<string, { shape: readonly number[]; data: SafeData }>();
  for (const sl of shardSlices(layout, specs, shard)) {
    const spec = specs[sl.index]!;
    const whole = sl.length === numel(spec.shape);
    const key = whole ? spec.name : `${spec.name}@${sl.tensorOffset}`;
    const shape = whole ? spec.shape : [sl.length];
    const part = (a: Float32Array) => a.subarray(sl.shardOffset, sl.shardOffset + sl.length);
    entries.set(key, { shape, data: part(t.params) });
    entries.set(M_PREFIX + key, { shape, data: part(t.expAvg) });
    entries.set(V_PREFIX + key, { shape, data: part(t.expAvgSq) });
  }
  return writeSafetensors(entries, {
    format: CHECKPOINT_FORMAT, shard: String(shard), flatStart: String(layout.shardStarts[shard]), flatEnd: String(layout.shardStarts[shard + 1]), step: String(step),
  });
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Write one shard's file into a step directory and describe it for the manifest. */
export async function writeShardFile(store: ObjectStore, stepDir: string, specs: readonly ServerParamSpec[], layout: ShardLayout, shard: number, t: ShardTensors, step: number): Promise<CheckpointFile> {
  const name = shardFileName(shard, layout.numShards);
  const bytes = encodeShard(specs, layout, shard, t, step);
  await store.write(joinUrl(stepDir, name), bytes);
  return { name, shard, flatStart: layout.shardStarts[shard]!, flatEnd: layout.shardStarts[shard + 1]!, bytes: bytes.length, sha256: sha256(bytes) };
}

/** Named weights (PyTorch layout) as one safetensors file: what users load elsewhere. */
export async function writeModelFile(store: ObjectStore, stepDir: string, specs: readonly ServerParamSpec[], flat: Float32Array, tensorStarts: readonly number[]): Promise<CheckpointFile> {
  const entries = new Map<string, { shape: readonly number[]; data: SafeData }>();
  specs.forEach((spec, i) => entries.set(spec.name, { shape: spec.shape, data: flat.subarray(tensorStarts[i], tensorStarts[i]! + numel(spec.shape)) }));
  const bytes = writeSafetensors(entries, { format: 'pt' });
  await store.write(joinUrl(stepDir, MODEL_FILE), bytes);
  return { name: MODEL_FILE, shard: -1, flatStart: 0, flatEnd: flat.length, bytes: bytes.length, sha256: sha256(bytes) };
}

/** Manifest, then the `latest` pointer: the two commit points of a checkpoint, in that order. */
export async function commitCheckpoint(store: ObjectStore, stageDirUrl: string, stepDirName: string, manifest: CheckpointManifest): Promise<void> {
  await store.write(joinUrl(stageDirUrl, stepDirName, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 1)));
  await store.write(joinUrl(stageDirUrl, LATEST_FILE), Buffer.from(stepDirName));
}

/** The newest complete checkpoint of a stage, or null if it has none. */
export async function readLatest(store: ObjectStore, stageDirUrl: string): Promise<{ stepDir: string; manifest: CheckpointManifest } | null> {
  let pointer: string;
  try {
    pointer = (await store.read(joinUrl(stageDirUrl, LATEST_FILE))).toString('utf8').trim();
  } catch (err) {
    if (err instanceof StorageError && err.code === 'fiber.storage.not_found') return null;
    throw err;
  }
  const stepDir = joinUrl(stageDirUrl, pointer);
  return { stepDir, manifest: await readManifest(store, stepDir) };
}

export async function readManifest(store: ObjectStore, stepDir: string): Promise<CheckpointManifest> {
  const url = joinUrl(stepDir, MANIFEST_FILE);
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse((await store.read(url)).toString('utf8')) as CheckpointManifest;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new StorageError(`${url} is not JSON: the checkpoint is damaged`, 'fiber.checkpoint.corrupt', { url });
  }
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== CHECKPOINT_FORMAT) {
    throw new StorageError(`${stepDir}: checkpoint format ${String((manifest as Partial<CheckpointManifest> | null)?.format)} is not ${CHECKPOINT_FORMAT}`, 'fiber.checkpoint.format');
  }
  const problem = manifestProblem(manifest);
  if (problem) throw new StorageError(`${url}: ${problem}: the checkpoint is damaged`, 'fiber.checkpoint.corrupt', { url });
  return manifest;
}

/** The fields every reader relies on, checked once here so a damaged manifest fails typed, not as a TypeError later. */
function manifestProblem(m: CheckpointManifest): string | null {
  const nat = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!nat(m.step)) return 'step is not an integer >= 0';
  if (!nat(m.numShards) || !nat(m.totalElements)) return 'numShards / totalElements are not integers >= 0';
  if (!Array.isArray(m.params) || !m.params.every((p) => typeof p?.name === 'string' && Array.isArray(p.shape) && p.shape.every(nat))) return 'params is not a list of { name, shape }';
  const fileOk = (f: CheckpointFile | null | undefined) => typeof f?.name === 'string' && nat(f.flatStart) && nat(f.flatEnd) && nat(f.bytes) && typeof f.sha256 === 'string';
  if (!Array.isArray(m.files) || !m.files.every(fileOk)) return 'files is not a list of checkpoint files';
  if (m.model !== null && m.model !== undefined && !fileOk(m.model)) return 'model is not a checkpoint file';
  if (m.ledger !== undefined && (typeof m.ledger !== 'object' || m.ledger === null || !Array.isArray(m.ledger.segments))) return 'ledger has no segments';
  return null;
}

async function readVerified(store: ObjectStore, stepDir: string, file: CheckpointFile): Promise<Buffer> {
  const bytes = await store.read(joinUrl(stepDir, file.name));
  if (bytes.length !== file.bytes || sha256(bytes) !== file.sha256) {
    throw new StorageError(`${joinUrl(stepDir, file.name)} does not match its manifest (size or sha256): the checkpoint is damaged`, 'fiber.checkpoint.corrupt');
  }
  return bytes;
}

/**
 * The flat range [lo, hi) of a checkpoint's parameters and moments, from whichever shard files
 * overlap it, whatever shard count wrote them. Moments are zero when the checkpoint has none.
 */
export async function loadFlatRange(store: ObjectStore, stepDir: string, manifest: CheckpointManifest, lo: number, hi: number): Promise<ShardTensors> {
  const out: ShardTensors = { params: new Float32Array(hi - lo), expAvg: new Float32Array(hi - lo), expAvgSq: new Float32Array(hi - lo) };
  await fillFlatRange(store, stepDir, manifest, lo, out);
  return out;
}

/** All parameters of a checkpoint, flat in manifest order, without allocating the moments (an export's need). */
export async function loadFlatParams(store: ObjectStore, stepDir: string, manifest: CheckpointManifest): Promise<Float32Array> {
  const params = new Float32Array(manifest.totalElements);
  await fillFlatRange(store, stepDir, manifest, 0, { params });
  return params;
}

async function fillFlatRange(store: ObjectStore, stepDir: string, manifest: CheckpointManifest, lo: number, out: { params: Float32Array; expAvg?: Float32Array; expAvgSq?: Float32Array }): Promise<void> {
  const hi = lo + out.params.length;
  const starts = new Map<string, number>();
  let at = 0;
  for (const p of manifest.params) {
    starts.set(p.name, at);
    at += numel(p.shape);
  }
  let filled = 0;
  for (const file of manifest.files) {
    if (file.flatEnd <= lo || file.flatStart >= hi) continue;
    const { tensors } = readSafetensors(await readVerified(store, stepDir, file));
    for (const [key, t] of tensors) {
      const [target, base] = key.startsWith(M_PREFIX) ? [out.expAvg, key.slice(M_PREFIX.length)]
        : key.startsWith(V_PREFIX) ? [out.expAvgSq, key.slice(V_PREFIX.length)] : [out.params, key];
      if (!target) continue;
      const sep = base.lastIndexOf('@');
      const name = sep > 0 ? base.slice(0, sep) : base;
      const flatStart = starts.get(name)! + (sep > 0 ? Number(base.slice(sep + 1)) : 0);
      const data = t.data as Float32Array;
      const a = Math.max(lo, flatStart);
      const b = Math.min(hi, flatStart + data.length);
      if (b <= a) continue;
      target.set(data.subarray(a - flatStart, b - flatStart), a - lo);
      if (target === out.params) filled += b - a;
    }
  }
  if (filled !== hi - lo) throw new StorageError(`${stepDir}: the shard files cover ${filled} of the ${hi - lo} parameters asked for`, 'fiber.checkpoint.incomplete');
}

/**
 * The step directory and manifest a checkpoint URI names: a step directory (manifest.json) or a
 * stage directory (its `latest`). StorageError `fiber.checkpoint.not_found` when it is neither.
 */
export async function resolveCheckpoint(store: ObjectStore, uri: string): Promise<{ stepDir: string; manifest: CheckpointManifest }> {
  const dir = uri.replace(/\/+$/, '');
  try {
    return { stepDir: dir, manifest: await readManifest(store, dir) };
  } catch (err) {
    if (!(err instanceof StorageError && err.code === 'fiber.storage.not_found')) throw err;
  }
  const latest = await readLatest(store, dir);
  if (!latest) throw new StorageError(`${uri} is neither a checkpoint step directory (manifest.json) nor a stage directory (latest)`, 'fiber.checkpoint.not_found', { uri });
  return latest;
}

/**
 * Named weights from a checkpoint URI: a `.safetensors` file (ours or a PyTorch export), a step
 * directory (manifest.json) or a stage directory (its `latest`).
 */
export async function loadNamedWeights(store: ObjectStore, uri: string): Promise<Map<string, Float32Array>> {
  if (uri.endsWith('.safetensors')) {
    const { tensors } = readSafetensors(await store.read(uri));
    return new Map([...tensors].map(([k, t]) => [k, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Int32Array)]));
  }
  const { stepDir, manifest } = await resolveCheckpoint(store, uri);
  const flat = await loadFlatParams(store, stepDir, manifest);
  const out = new Map<string, Float32Array>();
  let at = 0;
  for (const p of manifest.params) {
    const n = numel(p.shape);
    out.set(p.name, flat.slice(at, at + n));
    at += n;
  }
  return out;
}
