/**
 * bench/cli: start-up time of the commands a person types most, against a real local Redis,
 * next to a bare `node -e 0` measured in the same run (the floor no CLI can beat).
 * Target (issue 2): `fiber --help` under 300 ms. Prints a table on stderr and JSON on stdout.
 *
 *   npm run bench:cli            # 15 runs per command
 *   node dist/bench/cli.js 30    # more runs
 */
import { spawnSync } from 'node:child_process';
import { FIBER_BIN, REPO_ROOT } from '../test/helpers/cli.js';
import { startRedis } from '../test/helpers/redis-server.js';

interface Row { name: string; medianMs: number; p90Ms: number; minMs: number; runs: number; overNodeMs: number }

const RUNS = Number(process.argv[2] ?? 15);

function time(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function stats(samples: number[]): { medianMs: number; p90Ms: number; minMs: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { medianMs: round(at(0.5)), p90Ms: round(at(0.9)), minMs: round(s[0]!) };
}

const round = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const redis = await startRedis();
  const env = { ...process.env, FIBER_REDIS_URL: redis.url };
  try {
    const submit = ['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--set', 'data.coarse.shards=s3://b/{0..9}.tar'];
    time([FIBER_BIN, ...submit], env); // one real run, so status has something to show
    const cases: Array<[string, string[]]> = [
      ['node -e 0 (baseline)', ['-e', '0']],
      ['fiber --version', [FIBER_BIN, '--version']],
      ['fiber --help', [FIBER_BIN, '--help']],
      ['fiber pretrain --dry-run', [FIBER_BIN, ...submit, '--dry-run']],
      ['fiber status', [FIBER_BIN, 'status']],
      ['fiber status --json', [FIBER_BIN, 'status', '--json']],
      ['fiber pretrain (repeat, idempotent)', [FIBER_BIN, ...submit]],
    ];
    for (const [, args] of cases) time(args, env); // warm the file cache
    const rows: Row[] = [];
    let baseline = 0;
    for (const [name, args] of cases) {
      const samples = Array.from({ length: RUNS }, () => time(args, env));
      const s = stats(samples);
      if (rows.length === 0) baseline = s.medianMs;
      rows.push({ name, ...s, runs: RUNS, overNodeMs: round(s.medianMs - baseline) });
    }
    const help = rows.find((r) => r.name === 'fiber --help')!;
    const result = { bench: 'cli', node: process.version, runs: RUNS, targetHelpMs: 300, helpMeetsTarget: help.medianMs < 300, rows };
    process.stderr.write(`${'command'.padEnd(38)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'over node'.padStart(10)}\n`);
    for (const r of rows) process.stderr.write(`${r.name.padEnd(38)} ${`${r.medianMs}ms`.padStart(8)} ${`${r.p90Ms}ms`.padStart(8)} ${`${r.minMs}ms`.padStart(8)} ${`${r.overNodeMs}ms`.padStart(10)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await redis.close();
  }
}

await main();
