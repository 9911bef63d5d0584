import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import sharp from 'sharp';
import { STAGE_NAMES } from '../config/index.js';
import { RunStateError, StorageError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { runStatus } from '../queue/collect-status.js';
import { RunRegistry, type RunRecord } from '../queue/run-registry.js';
import { collectRunMetrics, type RunMetrics } from './collect-run-metrics.js';
import { renderReportHtml } from './render-report-html.js';
import { stageCharts } from './report-charts.js';
import { stageSummary, type StageSummary } from './stage-summary.js';

export interface WriteReportOptions {
  /** Warned about when lines are skipped. */
  readonly log?: Logger;
  /** Report time (running stages' wall time ends here). @defaultValue new Date() */
  readonly now?: Date;
}

export interface ReportResult {
  /** Absolute path of `index.html`. */
  readonly html: string;
  /** Absolute paths of the charts as PNG, one per chart in the page. */
  readonly pngs: string[];
  readonly stages: readonly StageSummary[];
}

/** Charts are rasterised at twice their SVG size: crisp on high-DPI screens and in slides. */
const PNG_DENSITY = 144;

/**
 * Write `<outDir>/index.html` (self-contained) and `<outDir>/<stage>-<chart>.png` for a run.
 * Reads Redis only. Throws RunStateError `fiber.run.unknown` (before writing anything) for a run
 * the registry does not know; a run without metrics yet still gets a page that says so.
 */
export async function writeReport(redis: Redis, run: string, outDir: string, opts: WriteReportOptions = {}): Promise<ReportResult> {
  const [record, metrics] = await Promise.all([new RunRegistry(redis).get(run), collectRunMetrics(redis, run)]);
  return writeReportFrom({ record, metrics }, run, outDir, opts);
}

/**
 * The same page from any source: the registry record and the metrics lines, e.g. rebuilt from the
 * checkpoints and the history beside them once Redis is gone (`fiber report --checkpoints`).
 */
export async function writeReportFrom(source: { readonly record: RunRecord | null; readonly metrics: RunMetrics }, run: string, outDir: string, opts: WriteReportOptions = {}): Promise<ReportResult> {
  const now = opts.now ?? new Date();
  const { record, metrics } = source;
  if (!record) throw new RunStateError(`no run named "${run}"; \`fiber status\` lists the runs`, 'fiber.run.unknown', 'usage', { run });
  const status = runStatus(record);
  warnMalformed(metrics, run, opts.log);

  const stages = STAGE_NAMES.flatMap((name) => {
    const s = status.stages.find((x) => x.stage === name);
    const m = metrics[name];
    return s || m.steps.length > 0 || m.evals.length > 0 ? [stageSummary(name, s, m, now)] : [];
  });
  const charts = stages.flatMap((s) => stageCharts(s.stage, metrics[s.stage]));
  const page = renderReportHtml({ run: status, stages, generatedAt: now.toISOString() }, charts);

  const dir = resolve(outDir);
  const html = join(dir, 'index.html');
  try {
    await mkdir(dir, { recursive: true });
    const pngs = await Promise.all(charts.map(async (c) => {
      const file = join(dir, `${c.name}.png`);
      await sharp(Buffer.from(c.svg), { density: PNG_DENSITY }).png().toFile(file);
      return file;
    }));
    // The page last, through a rename: whoever opens index.html sees a whole report.
    await writeFile(`${html}.tmp`, page);
    await rename(`${html}.tmp`, html);
    return { html, pngs, stages };
  } catch (err) {
    throw new StorageError(`could not write the report to ${dir}: ${(err as Error).message}`, 'fiber.report.write', { dir }, { cause: err });
  }
}

function warnMalformed(metrics: RunMetrics, run: string, log: Logger | undefined): void {
  for (const stage of STAGE_NAMES) {
    const { malformed } = metrics[stage];
    if (malformed.metrics + malformed.evals > 0) log?.warn({ run, stage, ...malformed }, 'skipped malformed metrics/evals lines');
  }
}
