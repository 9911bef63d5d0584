import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createObjectStore } from '../../src/storage/object-store.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { CHECKPOINT_FORMAT, stageDir, stepDirName, type CheckpointManifest } from '../../src/ps/checkpoint-layout.js';
import { commitCheckpoint, loadFlatRange, loadNamedWeights, readLatest, writeModelFile, writeShardFile } from '../../src/ps/checkpoint-io.js';
import type { ServerParamSpec as ParamSpec } from '../../src/model/param-spec.js';
import { CHUNK, planLayout } from '../../src/stage/shard-layout.js';

const specs: ParamSpec[] = [
  { name: 'vit_model.patch_embed.proj.weight', shape: [32, 3, 4, 4], group: 'backbone', noDecay: false },
  { name: 'text_transformer.embeddings.word_embeddings.weight', shape: [CHUNK + 17, 2], group: 'backbone', noDecay: false },
  { name: 'itm_score.fc.bias', shape: [2], group: 'head', noDecay: true },
];

describe('checkpoint files', () => {
  const root = mkdtempSync(join(tmpdir(), 'fiber-ckpt-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const store = createObjectStore();

  async function write(S: number, step: number, flat: Float32Array) {
    const layout = planLayout(specs, S);
    const dir = stageDir(root, 'run1', 'coarse');
    const stepDir = `${dir}/${stepDirName(step)}`;
    const files = [];
    for (let s = 0; s < S; s++) {
      const lo = layout.shardStarts[s]!;
      const hi = layout.shardStarts[s + 1]!;
      files.push(await writeShardFile(store, stepDir, specs, layout, s, { params: flat.subarray(lo, hi), expAvg: flat.subarray(lo, hi).map((x) => x * 2), expAvgSq: flat.subarray(lo, hi).map((x) => x * x) }, step));
    }
    const model = await writeModelFile(store, stepDir, specs, flat, layout.tensorStarts);
    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT, run: 'run1', stage: 'coarse', step, configHash: 'h', config: {}, numShards: S, totalElements: layout.totalElements,
      params: specs.map((p) => ({ name: p.name, shape: p.shape })), files, model, dataCursor: { nextStep: step }, seeds: { seed: 0 }, init: null, createdAt: new Date(0).toISOString(),
    };
    await commitCheckpoint(store, dir, stepDirName(step), manifest);
    return { dir, stepDir, manifest };
  }

  it('reads back any range exactly, whatever shard count wrote it', async () => {
    const total = planLayout(specs, 1).totalElements;
    const flat = Float32Array.from({ length: total }, (_, i) => Math.sin(i) * 1e3);
    const { dir } = await write(2, 50, flat);
    const latest = await readLatest(store, dir);
    assert.equal(latest?.manifest.step, 50);
    for (const S of [1, 3]) {
      const layout = planLayout(specs, S);
      for (let s = 0; s < S; s++) {
        const lo = layout.shardStarts[s]!;
        const hi = layout.shardStarts[s + 1]!;
        const got = await loadFlatRange(store, latest!.stepDir, latest!.manifest, lo, hi);
        assert.deepEqual(Buffer.from(got.params.buffer), Buffer.from(flat.slice(lo, hi).buffer));
        assert.deepEqual(Buffer.from(got.expAvg.buffer), Buffer.from(flat.slice(lo, hi).map((x) => x * 2).buffer));
      }
    }
    const named = await loadNamedWeights(store, dir);
    assert.deepEqual([...named.keys()], specs.map((s) => s.name));
    assert.equal(named.get('itm_score.fc.bias')![1], flat[total - 1]);
  });

  it('keeps whole tensors under their own names and shapes (PyTorch-loadable), split ones as name@offset', async () => {
    const flat = new Float32Array(planLayout(specs, 1).totalElements).fill(1);
    const { stepDir } = await write(2, 60, flat);
    const f0 = readSafetensors(readFileSync(join(stepDir, 'shard-0-of-2.safetensors'))).tensors;
    assert.deepEqual(f0.get('vit_model.patch_embed.proj.weight')?.shape, [32, 3, 4, 4]);
    assert.ok([...f0.keys()].some((k) => k.startsWith('text_transformer.embeddings.word_embeddings.weight@')));
    const model = readSafetensors(readFileSync(join(stepDir, 'model.safetensors'))).tensors;
    assert.deepEqual(model.get('text_transformer.embeddings.word_embeddings.weight')?.shape, [CHUNK + 17, 2]);
  });

  it('refuses a damaged shard file, and reports no checkpoint where there is none', async () => {
    const flat = new Float32Array(planLayout(specs, 1).totalElements).fill(2);
    const { stepDir, manifest } = await write(1, 70, flat);
    const p = join(stepDir, 'shard-0-of-1.safetensors');
    const bytes = readFileSync(p);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(p, bytes);
    await assert.rejects(loadFlatRange(store, stepDir, manifest, 0, 10), /does not match its manifest/);
    assert.equal(await readLatest(store, join(root, 'nothing-here')), null);
  });
});
