import { packShapesDataset } from '../../data/packing/pack-shapes.js';
import type { DataSynthOptions } from '../data-commands.js';
import type { GlobalOptions } from '../program.js';
import { dataContext } from './data-context.js';
import { printPackResult } from './print-pack-result.js';

export async function runDataSynth(opts: DataSynthOptions, globals: GlobalOptions): Promise<void> {
  const { store, log } = dataContext(globals);
  try {
    const result = await packShapesDataset(store, { out: opts.out, count: opts.count, seed: opts.seed, size: opts.size, samplesPerShard: opts.samplesPerShard }, (n) => {
      if (n % 1000 === 0) log.info({ samples: n }, 'packing');
    });
    printPackResult(result, opts.json);
  } finally {
    await store.close();
  }
}
