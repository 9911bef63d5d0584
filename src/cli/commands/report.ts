import { relative } from 'node:path';
import { STAGE_NAMES, type StageName } from '../../config/index.js';
import { writeReport, writeReportFrom, type ReportResult } from '../../report/write-report.js';
import { metricsFromLines, type StageLines } from '../../report/collect-run-metrics.js';
import { recordFromCheckpoints } from '../../queue/restore-run.js';
import { latestCheckpoints } from '../../ps/run-checkpoints.js';
import { readStageHistory } from '../../ps/run-history.js';
import { stageDir } from '../../ps/checkpoint-layout.js';
import { commandStore } from '../command-store.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface ReportOptions {
  readonly out?: string;
  readonly json?: boolean;
  readonly redisUrl?: string;
  readonly checkpoints?: string;
}

export async function report(run: string, opts: ReportOptions, ctx: CliContext): Promise<void> {
  const out = opts.out ?? `fiber-report-${run}`;
  const result = opts.checkpoints ? await fromCheckpoints(run, opts.checkpoints, out, ctx) : await fromRedis(run, opts.redisUrl, out, ctx);
  const stages = result.stages.map((s) => ({ stage: s.stage, state: s.state, step: s.step, totalSteps: s.totalSteps, metricSteps: s.numSteps, malformed: s.malformed }));
  if (opts.json) {
    printJson({ run, html: result.html, pngs: result.pngs, stages, source: opts.checkpoints ? 'checkpoints' : 'redis' });
    return;
  }
  printLines([
    `Wrote the report of run ${run}: ${relative(process.cwd(), result.html) || result.html} (${result.pngs.length} chart(s) as PNG beside it).`,
    ...result.stages.map((s) => {
      const skipped = s.malformed.metrics + s.malformed.evals;
      const what = s.numSteps === 0 ? 'no metrics yet' : `${s.numSteps} step(s) of metrics`;
      return `  ${s.stage}: ${s.state ?? 'no registry record'}, ${what}${skipped > 0 ? `; skipped ${skipped} malformed line(s)` : ''}`;
    }),
  ]);
}

async function fromRedis(run: string, redisUrl: string | undefined, out: string, ctx: CliContext): Promise<ReportResult> {
  const conn = await connectForCommand(ctx, redisUrl);
  try {
    return await writeReport(conn.redis, run, out, { log: ctx.log });
  } finally {
    conn.redis.disconnect();
  }
}

/** Without Redis: the run's state from its checkpoint manifests, its history from the files beside them. */
async function fromCheckpoints(run: string, uri: string, out: string, ctx: CliContext): Promise<ReportResult> {
  const store = commandStore(ctx);
  try {
    const record = recordFromCheckpoints(run, await latestCheckpoints(store, uri, run), new Date());
    const lines = Object.fromEntries(await Promise.all(STAGE_NAMES.map(async (s) => [s, await readStageHistory(store, stageDir(uri, run, s))] as const))) as unknown as Record<StageName, StageLines>;
    return await writeReportFrom({ record, metrics: metricsFromLines(lines) }, run, out, { log: ctx.log });
  } finally {
    await store.close();
  }
}
