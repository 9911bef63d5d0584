import { STAGE_NAMES, type StageName } from '../config/index.js';
import { StorageError } from '../errors/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { joinUrl } from '../storage/url.js';
import { stageDir, type CheckpointManifest } from './checkpoint-layout.js';
import { readLatest, readManifest } from './checkpoint-io.js';

/** A stage's newest complete checkpoint, as found in storage. */
export interface LatestCheckpoint {
  readonly stage: StageName;
  readonly stepDir: string;
  readonly manifest: CheckpointManifest;
}

/** The newest checkpoint of each stage of `run` under `uri` (the run's checkpoint.uri); absent stages are left out. */
export async function latestCheckpoints(store: ObjectStore, uri: string, run: string): Promise<Partial<Record<StageName, LatestCheckpoint>>> {
  const out: Partial<Record<StageName, LatestCheckpoint>> = {};
  for (const stage of STAGE_NAMES) {
    const latest = await readLatest(store, stageDir(uri, run, stage));
    if (latest) out[stage] = { stage, ...latest };
  }
  return out;
}

export interface CheckpointSummary {
  readonly stage: StageName;
  readonly step: number;
  readonly dir: string;
  /** The one `latest` points at. */
  readonly latest: boolean;
  /** Has model.safetensors (the stage's final checkpoint). */
  readonly final: boolean;
  readonly configHash: string;
  readonly createdAt: string;
  /** Sum of its files' sizes. */
  readonly bytes: number;
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number; readonly sha256: string }>;
}

/**
 * Every complete checkpoint of a run (step directories with a manifest), per stage in step order.
 * A step directory without a manifest (a write that died before its commit) is reported in
 * `incomplete`, not as a checkpoint.
 */
export async function listRunCheckpoints(store: ObjectStore, uri: string, run: string): Promise<{ checkpoints: CheckpointSummary[]; incomplete: string[] }> {
  const checkpoints: CheckpointSummary[] = [];
  const incomplete: string[] = [];
  for (const stage of STAGE_NAMES) {
    const dir = stageDir(uri, run, stage);
    const latest = await readLatest(store, dir).catch(() => null);
    const steps = (await store.list(dir)).filter((n) => /^step-\d{8}$/.test(n)).sort();
    for (const name of steps) {
      const stepDir = joinUrl(dir, name);
      let manifest: CheckpointManifest;
      try {
        manifest = await readManifest(store, stepDir);
      } catch (err) {
        if (err instanceof StorageError && err.code === 'fiber.storage.not_found') {
          incomplete.push(stepDir);
          continue;
        }
        throw err;
      }
      const files = [...manifest.files, ...(manifest.model ? [manifest.model] : [])].map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 }));
      checkpoints.push({
        stage, step: manifest.step, dir: stepDir, latest: latest?.stepDir === stepDir, final: manifest.model !== null,
        configHash: manifest.configHash, createdAt: manifest.createdAt, bytes: files.reduce((n, f) => n + f.bytes, 0), files,
      });
    }
  }
  return { checkpoints, incomplete };
}
