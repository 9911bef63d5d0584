import { BadSampleCounter } from '../../data/bad-sample.js';
import { expandShardUrls } from '../../data/webdataset/shard-urls.js';
import { verifyShard, type ShardVerification } from '../../data/packing/verify-shard.js';
import type { DataVerifyOptions } from '../data-commands.js';
import type { GlobalOptions } from '../program.js';
import { dataContext } from './data-context.js';
import { createProgress } from '../progress.js';

/** Reads every sample; prints bad ones by shard, key and reason; exit status 1 if any. */
export async function runDataVerify(patterns: string[], opts: DataVerifyOptions, globals: GlobalOptions): Promise<void> {
  const urls = expandShardUrls(patterns);
  const { store } = dataContext(globals);
  // Reports are printed below, one line each: no log line per bad sample on top of that.
  const bad = new BadSampleCounter(undefined, 100_000);
  const shards: ShardVerification[] = [];
  const progress = createProgress('verifying', 'shards');
  progress.update(0, urls.length);
  try {
    for (const url of urls) {
      shards.push(await verifyShard(store, url, bad));
      progress.update(shards.length, urls.length);
    }
    progress.finish();
  } finally {
    await store.close();
  }
  const indexProblems = shards.filter((s) => s.indexProblem);
  const ok = bad.total === 0 && indexProblems.length === 0;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ok, shards, counts: bad.nonZero(), bad: bad.reports }, null, 2)}\n`);
  } else {
    for (const r of bad.reports) process.stdout.write(`BAD ${r.shard} ${r.key} ${r.reason}${r.detail ? ` (${r.detail})` : ''}\n`);
    for (const s of indexProblems) process.stdout.write(`INDEX ${s.url}: ${s.indexProblem}\n`);
    const samples = shards.reduce((a, s) => a + s.samples, 0);
    const good = shards.reduce((a, s) => a + s.good, 0);
    process.stdout.write(`${ok ? 'OK' : 'FAILED'}: ${urls.length} shards, ${samples} samples, ${good} good; bad by reason: ${JSON.stringify(bad.nonZero())}\n`);
  }
  if (!ok) process.exitCode = 1;
}
