import { writeFile } from 'node:fs/promises';
import { UsageError } from '../../errors/index.js';
import { initParams } from '../../model/init-params.js';
import { MODEL_PRESETS, type ModelPresetName } from '../../model/model-config.js';
import { paramSpecs, type Stage } from '../../model/param-spec.js';
import { writeSafetensors } from '../../model/safetensors.js';
import { exportWeights } from '../../model/weight-io.js';

/** `fiber model init`: seeded weights under the reference names. No tensors are created. */
export async function modelInit(opts: { preset: string; stage: string; seed: string; out: string }): Promise<void> {
  const seed = Number(opts.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${opts.seed}`, 'fiber.model.seed');
  const config = MODEL_PRESETS[opts.preset as ModelPresetName];
  const stage = opts.stage as Stage;
  const specs = paramSpecs(config, stage);
  const weights = exportWeights(specs, initParams(config, stage, seed));
  await writeFile(opts.out, writeSafetensors(weights, { format: 'fiber', preset: opts.preset, stage, seed: String(seed) }));
  process.stdout.write(`wrote ${specs.length} tensors (${opts.preset}, ${stage}, seed ${seed}) to ${opts.out}\n`);
}
