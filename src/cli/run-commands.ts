import { Command, InvalidArgumentError, Option } from 'commander';
import { PRESET_NAMES } from '../config/presets.js';
import { STAGE_NAMES } from '../config/stage.js';
import type { CliContext } from './context.js';

export const redisUrlOption = () => new Option('--redis-url <url>', 'Redis for queues and the run registry').env('FIBER_REDIS_URL');

/** The context module loads pino and ioredis: import it only once a command really runs. */
export async function contextFor(cmd: Command, service = false): Promise<CliContext> {
  return (await import('./context.js')).cliContext(cmd, service);
}

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds > 0');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

/** pretrain, status, dashboard, cancel, report: the commands a user runs against a cluster's Redis. */
export function registerRunCommands(program: Command): void {
  program.command('pretrain')
    .description('validate a run config and queue one pretraining stage (returns at once)')
    .addOption(new Option('--stage <stage>', 'coarse (image-text: ITC+ITM+MLM) or fine (image-text-box)').choices(STAGE_NAMES).makeOptionMandatory())
    .option('-c, --config <file>', 'run config, YAML or JSON')
    .addOption(new Option('--preset <name>', 'defaults to start from (default: fiber-base, or the file\'s preset:)').choices(PRESET_NAMES))
    .option('--set <key=value>', 'override one config field, e.g. --set batch.coarse.globalBatch=256 (repeatable)', collect, [])
    .option('--run <name>', 'run name (default: <preset>-<config hash>, so resubmitting the same config is idempotent)')
    .option('--init <checkpoint>', 'start from this checkpoint URI instead of seeded init (fine: instead of the coarse stage)')
    .option('--dry-run', 'validate and print what would be submitted; touch nothing')
    .option('--json', 'print the outcome as JSON')
    .addOption(redisUrlOption())
    .action(async (opts, cmd: Command) => (await import('./commands/pretrain.js')).pretrain(opts, await contextFor(cmd)));

  program.command('status')
    .description('runs, stages, progress, queues and workers (all runs, newest first, or one)')
    .argument('[run]', 'show only this run')
    .option('--json', 'print the report as JSON (schema fiber.status/v1, docs/status.md)')
    .option('-w, --watch', 'refresh until the run finishes or Ctrl-C')
    .option('--interval <seconds>', 'refresh period for --watch', positiveSeconds, 2)
    .addOption(redisUrlOption())
    .action(async (run: string | undefined, opts, cmd: Command) => (await import('./commands/status.js')).status(run, opts, await contextFor(cmd)));

  program.command('dashboard')
    .description('a live web page of runs, progress, losses, LR, throughput, goodput, evals and workers (reads Redis only)')
    .addOption(new Option('--port <port>', 'port to serve on (0: any free port)').argParser(port).default(8080))
    .option('--host <host>', 'interface to bind; anything but loopback offers the page to the network', '127.0.0.1')
    .option('--interval <seconds>', 'how often the page refreshes', positiveSeconds, 2)
    .addOption(redisUrlOption())
    .action(async (opts, cmd: Command) => (await import('./commands/dashboard.js')).dashboard(opts, await contextFor(cmd)));

  program.command('cancel')
    .description('cancel a run: remove its queued work and stop its running stage at the next step')
    .argument('<run>', 'run name')
    .option('--json', 'print the outcome as JSON')
    .addOption(redisUrlOption())
    .action(async (run: string, opts, cmd: Command) => (await import('./commands/cancel.js')).cancel(run, opts, await contextFor(cmd)));

  program.command('report')
    .description('write a run\'s losses, learning rate, throughput and evals as a self-contained HTML page plus PNG charts')
    .argument('<run>', 'run name')
    .option('-o, --out <dir>', 'output directory (default: ./fiber-report-<run>)')
    .option('--checkpoints <url>', 'read the run from its checkpoint.uri (manifests and the history beside them) instead of Redis')
    .option('--json', 'print the written files as JSON')
    .addOption(redisUrlOption())
    .action(async (run: string, opts, cmd: Command) => (await import('./commands/report.js')).report(run, opts, await contextFor(cmd)));
}
