import { selectBackend } from '../../model/backend.js';
import { MODEL_PRESETS, type ModelPresetName } from '../../model/model-config.js';
import { countParams, paramSpecs } from '../../model/param-spec.js';

/** Reference §1.6 counts for fiber-base, printed next to ours. */
const REFERENCE_BASE: Record<string, number> = { image_backbone: 86.88e6, text_backbone: 124.06e6, image_fusion: 12.61e6, text_fusion: 13.40e6, coarse_heads: 44.37e6 };

/** `fiber model info`: counts come from the parameter spec list, so nothing is allocated. */
export async function modelInfo(opts: { preset: string; json?: boolean }): Promise<void> {
  const config = MODEL_PRESETS[opts.preset as ModelPresetName];
  const coarse = countParams(paramSpecs(config, 'coarse'));
  const fine = countParams(paramSpecs(config, 'fine'));
  const components = {
    image_backbone: coarse.image_backbone, text_backbone: coarse.text_backbone,
    image_fusion: coarse.image_fusion, text_fusion: coarse.text_fusion,
    coarse_heads: coarse.coarse_heads, fine_head: fine.fine_head,
  };
  const backend = await selectBackend();
  const result = { preset: opts.preset, components, totals: { coarse: coarse.total, fine: fine.total }, backend, config };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const ref = opts.preset === 'fiber-base' ? REFERENCE_BASE : {};
  const lines = [`preset ${opts.preset}   backend ${backend.name} (${backend.reason})`, ''];
  lines.push(`${'component'.padEnd(16)}${'params'.padStart(14)}${opts.preset === 'fiber-base' ? '   reference' : ''}`);
  for (const [k, v] of Object.entries(components)) {
    const r = ref[k];
    lines.push(`${k.padEnd(16)}${v.toLocaleString('en-US').padStart(14)}${r ? `   ${(r / 1e6).toFixed(2)}M (${(((v - r) / r) * 100).toFixed(2)}%)` : ''}`);
  }
  lines.push(`${'coarse total'.padEnd(16)}${coarse.total.toLocaleString('en-US').padStart(14)}`);
  lines.push(`${'fine total'.padEnd(16)}${fine.total.toLocaleString('en-US').padStart(14)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
