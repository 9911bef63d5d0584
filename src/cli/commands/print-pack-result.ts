import type { PackResult } from '../../data/packing/pack-dataset.js';

/** What `fiber data pack` and `fiber data synth` print: the result as JSON, or per stage its counts and the brace pattern for the run config. */
export function printPackResult(result: PackResult, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  for (const [stage, w] of [['coarse', result.coarse], ['fine', result.fine]] as const) {
    if (!w) continue;
    process.stdout.write(`${stage}: ${w.samples} samples in ${w.urls.length} shards (${(w.bytes / 1e6).toFixed(1)} MB), indexed\n  ${w.pattern}\n`);
  }
  const skipped = Object.entries(result.skipped);
  if (skipped.length) process.stdout.write(`skipped: ${skipped.map(([reason, n]) => `${reason} ${n}`).join(', ')}\n`);
}
