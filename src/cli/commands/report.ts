import { relative } from 'node:path';
import { writeReport } from '../../report/write-report.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface ReportOptions {
  readonly out?: string;
  readonly json?: boolean;
  readonly redisUrl?: string;
}

export async function report(run: string, opts: ReportOptions, ctx: CliContext): Promise<void> {
  const conn = await connectForCommand(ctx, opts.redisUrl);
  try {
    const result = await writeReport(conn.redis, run, opts.out ?? `fiber-report-${run}`, { log: ctx.log });
    const stages = result.stages.map((s) => ({ stage: s.stage, state: s.state, step: s.step, totalSteps: s.totalSteps, metricSteps: s.numSteps, malformed: s.malformed }));
    if (opts.json) {
      printJson({ run, html: result.html, pngs: result.pngs, stages });
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
  } finally {
    conn.redis.disconnect();
  }
}
