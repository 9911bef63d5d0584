import { runStatus } from '../../queue/collect-status.js';
import { RunRegistry } from '../../queue/run-registry.js';
import type { RunStatus } from '../../queue/status-report.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';
import { colorEnabled } from '../terminal.js';

export interface RunsOptions {
  readonly json?: boolean;
  readonly limit: number;
  readonly redisUrl?: string;
}

/** One line per run Redis knows, newest first: its state, the stage it is at, and how far. */
export async function runs(opts: RunsOptions, ctx: CliContext): Promise<void> {
  const conn = await connectForCommand(ctx, opts.redisUrl);
  try {
    const records = await new RunRegistry(conn.redis).list(opts.limit);
    const rows = records.map((r) => summary(runStatus(r)));
    if (opts.json) {
      printJson({ runs: rows });
      return;
    }
    if (rows.length === 0) {
      printLines(['No runs in Redis. Submit one with: fiber pretrain --stage coarse --config run.yaml']);
      return;
    }
    const color = colorEnabled(process.stdout);
    const paint = (state: string, text: string) => (color ? `\x1b[${STATE_COLOR[state] ?? 0}m${text}\x1b[0m` : text);
    const w = Math.max(4, ...rows.map((r) => r.name.length));
    printLines([
      `${'run'.padEnd(w)}  ${'state'.padEnd(9)}  ${'stage'.padEnd(6)}  ${'progress'.padEnd(13)}  ${'config'.padEnd(12)}  created`,
      ...rows.map((r) => `${r.name.padEnd(w)}  ${paint(r.state, r.state.padEnd(9))}  ${(r.stage ?? '-').padEnd(6)}  ${progress(r).padEnd(13)}  ${r.configHash.padEnd(12)}  ${r.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`),
    ]);
  } finally {
    conn.redis.disconnect();
  }
}

const STATE_COLOR: Record<string, number> = { queued: 36, waiting: 90, running: 33, completed: 32, failed: 31, cancelled: 35 };

export interface RunSummary {
  readonly name: string;
  readonly state: string;
  readonly preset: string;
  readonly configHash: string;
  readonly createdAt: string;
  readonly cancelledAt: string | null;
  /** The stage the run is at: the last one that has started or is queued. */
  readonly stage: string | null;
  readonly step: number | null;
  readonly totalSteps: number | null;
  readonly stages: ReadonlyArray<{ readonly stage: string; readonly state: string; readonly step: number | null; readonly totalSteps: number }>;
}

function summary(r: RunStatus): RunSummary {
  const current = [...r.stages].reverse().find((s) => s.state !== 'waiting') ?? r.stages[0];
  return {
    name: r.name, state: r.state, preset: r.preset, configHash: r.configHash, createdAt: r.createdAt, cancelledAt: r.cancelledAt,
    stage: current?.stage ?? null, step: current?.step ?? null, totalSteps: current?.totalSteps ?? null,
    stages: r.stages.map((s) => ({ stage: s.stage, state: s.state, step: s.step, totalSteps: s.totalSteps })),
  };
}

function progress(r: RunSummary): string {
  if (r.totalSteps === null) return '-';
  const pct = r.totalSteps > 0 ? Math.floor((100 * (r.step ?? 0)) / r.totalSteps) : 0;
  return `${r.step ?? 0}/${r.totalSteps} ${pct}%`;
}
