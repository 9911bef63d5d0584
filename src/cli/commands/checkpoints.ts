import { RunStateError } from '../../errors/index.js';
import { listRunCheckpoints } from '../../ps/run-checkpoints.js';
import { commandStore } from '../command-store.js';
import type { CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';
import { runCheckpointUri } from './run-checkpoint-uri.js';

export interface CheckpointsOptions {
  readonly checkpoints?: string;
  readonly json?: boolean;
  readonly redisUrl?: string;
}

/** A run's checkpoints as storage has them: step, size, files and their sha256, which one is latest. */
export async function checkpoints(run: string, opts: CheckpointsOptions, ctx: CliContext): Promise<void> {
  const { uri } = await runCheckpointUri(ctx, run, opts.checkpoints, opts.redisUrl);
  const store = commandStore(ctx);
  try {
    const { checkpoints: list, incomplete } = await listRunCheckpoints(store, uri, run);
    if (list.length === 0 && incomplete.length === 0) throw new RunStateError(`no checkpoints of run "${run}" under ${uri}`, 'fiber.run.no_checkpoints');
    if (opts.json) {
      printJson({ run, uri, checkpoints: list, incomplete });
      return;
    }
    const lines = [`Checkpoints of run ${run} under ${uri}:`];
    for (const c of list) {
      const marks = [c.latest ? 'latest' : '', c.final ? 'final' : ''].filter(Boolean).join(', ');
      lines.push(`  ${c.stage.padEnd(6)} step ${String(c.step).padStart(7)}  ${size(c.bytes).padStart(9)}  config ${c.configHash}  ${c.createdAt}${marks ? `  (${marks})` : ''}`);
      for (const f of c.files) lines.push(`           ${f.name.padEnd(32)} ${size(f.bytes).padStart(9)}  sha256 ${f.sha256.slice(0, 16)}`);
    }
    for (const dir of incomplete) lines.push(`  incomplete (no manifest): ${dir}`);
    printLines(lines);
  } finally {
    await store.close();
  }
}

export function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
