import { writeFile } from 'node:fs/promises';
import { BadSampleCounter } from '../../data/bad-sample.js';
import { readSamples, type RawSample } from '../../data/webdataset/raw-sample.js';
import { parseAnnotations, type SampleAnnotations } from '../../data/pipeline/sample-annotations.js';
import type { DataInspectOptions } from '../data-commands.js';
import type { GlobalOptions } from '../program.js';
import { dataContext } from './data-context.js';
import { createProgress } from '../progress.js';

/** Print the first --n samples of one shard; --png draws them. */
export async function runDataInspect(url: string, opts: DataInspectOptions, globals: GlobalOptions): Promise<void> {
  const { store, log } = dataContext(globals);
  const bad = new BadSampleCounter(log);
  const raws: RawSample[] = [];
  const progress = createProgress('reading', 'samples');
  try {
    for await (const raw of readSamples(store.stream(url), url, bad)) {
      raws.push(raw);
      progress.update(raws.length, opts.n);
      if (raws.length >= opts.n) break;
    }
    progress.finish();
  } finally {
    await store.close();
  }
  const parsed = raws.map((raw) => {
    const stage = /"(boxes|labels)"\s*:/.test(raw.files.get('json')?.toString('utf8') ?? '') ? 'fine' : 'coarse';
    return { raw, a: parseAnnotations(raw, stage, bad) };
  });
  const rows = parsed.map(({ raw, a }) => ({
    key: raw.key,
    offset: raw.offset,
    files: Object.fromEntries([...raw.files].map(([ext, b]) => [ext, b.length])),
    captions: a?.captions ?? [],
    boxes: a?.boxes.length ?? 0,
    labels: a ? [...new Set(a.labels)] : [],
    phrases: a ? a.tokensPositive.flat().map(([s, e]) => (a.captions[0] ?? '').slice(s, e)) : [],
  }));
  if (opts.json) process.stdout.write(`${JSON.stringify({ url, samples: rows, bad: bad.reports }, null, 2)}\n`);
  else {
    for (const r of rows) {
      process.stdout.write(`${r.key} @${r.offset}  ${Object.entries(r.files).map(([e, n]) => `${e}:${n}B`).join(' ')}\n`);
      for (const c of r.captions) process.stdout.write(`  "${c}"\n`);
      if (r.boxes) process.stdout.write(`  ${r.boxes} boxes${r.labels.length ? ` [${r.labels.join(', ')}]` : ''}${r.phrases.length ? ` phrases: ${[...new Set(r.phrases)].join(', ')}` : ''}\n`);
    }
    for (const b of bad.reports) process.stdout.write(`BAD ${b.key} ${b.reason}\n`);
  }
  if (opts.png) {
    const { contactSheet } = await import('../../data/packing/contact-sheet.js');
    const good = parsed.map((p) => p.a).filter((a): a is SampleAnnotations => a !== undefined);
    await writeFile(opts.png, await contactSheet(good));
    process.stderr.write(`wrote ${opts.png} (${good.length} samples)\n`);
  }
}
