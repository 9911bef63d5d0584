import { exportCheckpoint } from '../../ps/export-checkpoint.js';
import { printJson, printLines } from '../output.js';
import type { GlobalOptions } from '../program.js';
import { dataContext } from './data-context.js';

/** `fiber model export`: storage set up from the environment as for the data and eval commands. */
export async function modelExport(checkpoint: string, opts: { out: string; json?: boolean }, globals: GlobalOptions): Promise<void> {
  const { store } = dataContext(globals);
  try {
    const r = await exportCheckpoint(store, checkpoint, opts.out);
    if (opts.json) return printJson(r);
    printLines([
      `exported ${r.run}/${r.stage} step ${r.step} (${r.preset}) from ${r.checkpoint}`,
      `  ${r.weights.file}: ${r.tensors} tensors, ${r.parameters} parameters, ${r.weights.bytes} bytes`,
      `  config.json: tokenizer ${r.tokenizer.location}${r.tokenizer.hash ? ` (${r.tokenizer.hash.slice(0, 12)})` : ''}${r.tokenizer.files.length ? `, copied ${r.tokenizer.files.join(', ')}` : ''}`,
      `  to ${r.out}`,
    ]);
  } finally {
    await store.close();
  }
}
