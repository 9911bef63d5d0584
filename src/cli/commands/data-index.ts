import { BadSampleCounter } from '../../data/bad-sample.js';
import { buildShardIndex, encodeShardIndex, indexUrlFor } from '../../data/webdataset/shard-index.js';
import { expandShardUrls } from '../../data/webdataset/shard-urls.js';
import { mapLimit } from '../../storage/map-limit.js';
import type { DataIndexOptions } from '../data-commands.js';
import type { GlobalOptions } from '../program.js';
import { dataContext } from './data-context.js';
import { createProgress } from '../progress.js';

export async function runDataIndex(patterns: string[], opts: DataIndexOptions, globals: GlobalOptions): Promise<void> {
  const urls = expandShardUrls(patterns);
  const { store, log } = dataContext(globals);
  const bad = new BadSampleCounter(log);
  const progress = createProgress('indexing', 'shards');
  let indexed = 0;
  progress.update(0, urls.length);
  try {
    const rows = await mapLimit(urls, opts.concurrency, async (url) => {
      const index = await buildShardIndex(store, url, bad);
      await store.write(indexUrlFor(url), encodeShardIndex(index));
      progress.update(++indexed, urls.length);
      return { url, index: indexUrlFor(url), samples: index.keys.length, bytes: index.shardBytes };
    });
    progress.finish();
    if (opts.json) process.stdout.write(`${JSON.stringify({ shards: rows, bad: bad.nonZero() }, null, 2)}\n`);
    else {
      for (const r of rows) process.stdout.write(`${r.url}: ${r.samples} samples, ${r.bytes} bytes -> ${r.index}\n`);
      if (bad.total) process.stdout.write(`damaged members (not indexed): ${JSON.stringify(bad.nonZero())}; run \`fiber data verify\` for details\n`);
    }
  } finally {
    await store.close();
  }
}
