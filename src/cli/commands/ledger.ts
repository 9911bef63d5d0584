import { parseStoredRunConfig, type StageName } from '../../config/index.js';
import { RunStateError } from '../../errors/index.js';
import { auditRunLedger } from '../../ps/audit-ledger.js';
import { RunRegistry } from '../../queue/run-registry.js';
import { createObjectStore } from '../../storage/object-store.js';
import { DEFAULT_RETRY } from '../../storage/retry.js';
import { s3ConfigFromEnv } from '../../storage/s3-config.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson } from '../output.js';

export interface LedgerOptions {
  readonly stage?: StageName;
  /** checkpoint.uri of the run; without it the run registry (Redis) says. */
  readonly checkpoints?: string;
  readonly verify?: boolean;
  readonly json?: boolean;
  readonly redisUrl?: string;
}

/** `fiber ledger RUN`: exactly-once delivery per epoch, proved from the checkpoints; exit 1 when it does not hold. */
export async function ledger(run: string, opts: LedgerOptions, ctx: CliContext): Promise<void> {
  const uri = opts.checkpoints ?? await checkpointUriOf(run, opts, ctx);
  const store = createObjectStore({ s3: s3ConfigFromEnv(ctx.env), retry: DEFAULT_RETRY });
  try {
    const stages = await auditRunLedger(store, uri, run, { verify: Boolean(opts.verify), ...(opts.stage ? { stages: [opts.stage] } : {}) });
    if (stages.length === 0) throw new RunStateError(`run "${run}" has no checkpoint under ${uri}`, 'fiber.ledger.no_checkpoint');
    const ok = stages.every((s) => s.ok);
    if (opts.json) printJson({ schema: 'fiber.ledger-audit/v1', run, ok, stages });
    else {
      for (const s of stages) {
        process.stdout.write(`${s.ok ? 'OK' : 'FAILED'} ${run}/${s.stage}: steps 0..${s.step - 1}, ${s.samples} samples (global batch ${s.globalBatch}) = ${plural(s.epochs, 'whole epoch')} of ${s.epochItems}`
          + ` in ${plural(s.segments, 'segment')}; ${plural(s.checkpoints.length, 'checkpoint')} checked${s.idsVerified ? ', sample ids recomputed from the shard indexes' : ''}\n`);
        for (const c of s.checkpoints) for (const p of c.problems) process.stdout.write(`  ${p.kind.toUpperCase()} ${c.checkpoint} (step ${c.step}): ${p.message}\n`);
      }
    }
    if (!ok) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

async function checkpointUriOf(run: string, opts: LedgerOptions, ctx: CliContext): Promise<string> {
  const conn = await connectForCommand(ctx, opts.redisUrl);
  try {
    const record = await new RunRegistry(conn.redis).get(run);
    if (!record) throw new RunStateError(`no run named "${run}" in Redis; pass --checkpoints <checkpoint.uri> to read its checkpoints without it`, 'fiber.run.unknown');
    return parseStoredRunConfig(JSON.parse(record.configJson)).checkpoint.uri;
  } finally {
    conn.redis.disconnect();
  }
}
