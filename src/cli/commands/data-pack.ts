import { UsageError } from '../../errors/index.js';
import { packDataset } from '../../data/packing/pack-dataset.js';
import { readCocoDevInput, readCocoInput, readFolderInput, type PackInput } from '../../data/packing/pack-sources.js';
import { readDetectionInput } from '../../data/packing/read-detection-input.js';
import { readMdetrInput } from '../../data/packing/read-mdetr-input.js';
import type { DataPackOptions } from '../data-commands.js';
import type { GlobalOptions } from '../program.js';
import { dataContext } from './data-context.js';
import { printPackResult } from './print-pack-result.js';
import { createProgress } from '../progress.js';

export async function runDataPack(opts: DataPackOptions, globals: GlobalOptions): Promise<void> {
  const input = await readInput(opts);
  const { store, log } = dataContext(globals);
  try {
    const progress = createProgress('packing', 'samples');
    const total = input.coarse.length + input.fine.length;
    const result = await packDataset(input, store, { out: opts.out, samplesPerShard: opts.samplesPerShard }, (n) => progress.update(n, total));
    progress.finish();
    for (const e of result.skippedExamples) log.warn({ reason: e.reason, record: e.where, detail: e.detail }, 'skipped bad input');
    printPackResult(result, opts.json);
  } finally {
    await store.close();
  }
}

async function readInput(opts: DataPackOptions): Promise<PackInput> {
  const need = (flag: string, v: string | undefined): string => {
    if (!v) throw new UsageError(`--from ${opts.from} needs ${flag}`, 'fiber.usage.missing_option');
    return v;
  };
  switch (opts.from) {
    case 'coco':
      return readCocoInput(need('--images', opts.images), need('--captions', opts.captions), opts.instances);
    case 'coco-dev':
      return readCocoDevInput(need('--images', opts.images), need('--annotations', opts.annotations));
    case 'mdetr':
      return readMdetrInput(need('--images', opts.images), need('--annotations', opts.annotations), opts.vgImages ? { vgImagesDir: opts.vgImages } : {});
    case 'detection':
      return readDetectionInput(need('--images', opts.images), need('--instances', opts.instances));
    case 'folder':
      return readFolderInput(need('--images', opts.images));
  }
}
