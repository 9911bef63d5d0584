import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveRunConfig } from '../../src/config/index.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { packDataset } from '../../src/data/packing/pack-dataset.js';
import { readCocoDevInput } from '../../src/data/packing/pack-sources.js';
import { initParams } from '../../src/model/init-params.js';
import { MODEL_PRESETS, type ModelPresetName } from '../../src/model/model-config.js';
import { paramSpecs, type Stage } from '../../src/model/param-spec.js';
import { CHECKPOINT_FORMAT, stageDir, stepDirName, type CheckpointManifest } from '../../src/ps/checkpoint-layout.js';
import { commitCheckpoint, writeShardFile } from '../../src/ps/checkpoint-io.js';
import { planLayout } from '../../src/stage/shard-layout.js';

/** Shard patterns of a packed coco-dev subset and how many samples of each kind went in. */
export interface PackedSubset {
  readonly coarse: string;
  readonly fine: string;
  readonly counts: { readonly coarse: number; readonly grounding: number; readonly detection: number };
}

/**
 * Packs the first `coarse` images of coco-dev as coarse shards and, as fine shards, `detection`
 * detection samples followed by the first `grounding` grounding samples (captions with phrase
 * links), under `root` (a local folder), 4 samples per shard so patterns span several shards.
 */
export async function packCocoDevSubset(cocoDir: string, store: ObjectStore, root: string, want: { coarse: number; grounding: number; detection: number }): Promise<PackedSubset> {
  const input = await readCocoDevInput(join(cocoDir, 'images'), join(cocoDir, 'annotations.jsonl'));
  const grounding = input.fine.filter((s) => typeof s.json.caption === 'string').slice(0, want.grounding);
  // coco-dev links a phrase to every image with boxes, so it has no detection sample: make some
  // from grounding samples' boxes (labels instead of a caption, as `--from coco` writes them).
  const detection = grounding.slice(0, want.detection).map((s) => {
    const boxes = s.json.boxes as number[][];
    return { ...s, key: `${s.key}_det`, json: { boxes, labels: boxes.map(() => 'thing'), categories: ['thing', 'other'] } };
  });
  const packed = await packDataset({ coarse: input.coarse.slice(0, want.coarse), fine: [...detection, ...grounding] }, store, { out: pathToFileURL(root).href, samplesPerShard: 4 });
  return {
    coarse: packed.coarse!.pattern, fine: packed.fine!.pattern,
    counts: { coarse: Math.min(want.coarse, input.coarse.length), grounding: grounding.length, detection: detection.length },
  };
}

/**
 * A one-shard checkpoint of seeded fiber weights as the parameter server writes it (shard file,
 * manifest with the resolved run config, `latest`), under `root`/run/<stage>/step-<step>.
 */
export async function writeStepCheckpoint(store: ObjectStore, root: string, stage: Stage, step: number, preset: ModelPresetName = 'fiber-tiny', seed = 0): Promise<{ stageDir: string; stepDir: string }> {
  const config = resolveRunConfig({ preset });
  const specs = paramSpecs(MODEL_PRESETS[preset], stage);
  const values = initParams(MODEL_PRESETS[preset], stage, seed);
  const layout = planLayout(specs, 1);
  const flat = new Float32Array(layout.totalElements);
  specs.forEach((s, i) => flat.set(values.get(s.name)!, layout.tensorStarts[i]));
  const dir = stageDir(pathToFileURL(root).href, 'run', stage);
  const stepDir = `${dir}/${stepDirName(step)}`;
  const zeros = new Float32Array(flat.length);
  const file = await writeShardFile(store, stepDir, specs, layout, 0, { params: flat, expAvg: zeros, expAvgSq: zeros }, step);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT, run: 'run', stage, step, configHash: 'test', config, numShards: 1, totalElements: layout.totalElements,
    params: specs.map((s) => ({ name: s.name, shape: s.shape })), files: [file], model: null, dataCursor: { nextStep: step }, seeds: { seed }, init: null,
    createdAt: new Date(0).toISOString(),
  };
  await commitCheckpoint(store, dir, stepDirName(step), manifest);
  return { stageDir: dir, stepDir };
}
