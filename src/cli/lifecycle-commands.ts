import { Command, InvalidArgumentError, Option } from 'commander';
import { PRESET_NAMES } from '../config/presets.js';
import { STAGE_NAMES } from '../config/stage.js';
import { contextFor, redisUrlOption } from './run-commands.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

/** resume, runs, checkpoints, delete: living with runs for weeks (issue 15). */
export function registerLifecycleCommands(program: Command): void {
  program.command('resume')
    .description('continue a failed or cancelled stage from its latest checkpoint, same config; rebuilds the run from its checkpoints if Redis lost it')
    .argument('<run>', 'run name')
    .addOption(new Option('--stage <stage>', 'which stage (default: the first failed or cancelled one)').choices(STAGE_NAMES))
    .option('--checkpoints <url>', 'the run\'s checkpoint.uri, to restore a run Redis has lost (default: from the registry or --config)')
    .option('-c, --config <file>', 'the run config you expect it to have: a different one is refused, naming what differs')
    .addOption(new Option('--preset <name>', 'with --config/--set: defaults to start from').choices(PRESET_NAMES))
    .option('--set <key=value>', 'with --config: an override of the expected config (repeatable)', collect, [])
    .option('--json', 'print the outcome as JSON')
    .addOption(redisUrlOption())
    .action(async (run: string, opts, cmd: Command) => (await import('./commands/resume.js')).resume(run, opts, await contextFor(cmd)));

  program.command('runs')
    .description('the runs Redis knows, newest first: state, current stage, progress')
    .option('--json', 'print the runs as JSON')
    .option('--limit <n>', 'at most this many runs', positiveInt, 100)
    .addOption(redisUrlOption())
    .action(async (opts, cmd: Command) => (await import('./commands/runs.js')).runs(opts, await contextFor(cmd)));

  program.command('checkpoints')
    .description('a run\'s checkpoints in storage: steps, sizes, files and sha256')
    .argument('<run>', 'run name')
    .option('--checkpoints <url>', 'the run\'s checkpoint.uri (default: from the run config in Redis; with it, Redis is not needed)')
    .option('--json', 'print the checkpoints as JSON')
    .addOption(redisUrlOption())
    .action(async (run: string, opts, cmd: Command) => (await import('./commands/checkpoints.js')).checkpoints(run, opts, await contextFor(cmd)));

  program.command('delete')
    .description('remove a run\'s Redis records (queued or running runs need `fiber cancel` first, or --force)')
    .argument('<run>', 'run name')
    .option('--checkpoints', 'also delete its checkpoints and the history beside them')
    .option('--checkpoint-uri <url>', 'where its checkpoints are (default: the run config\'s checkpoint.uri)')
    .option('--force', 'delete even while a stage is queued or running')
    .option('--json', 'print the outcome as JSON')
    .addOption(redisUrlOption())
    .action(async (run: string, opts, cmd: Command) => (await import('./commands/delete.js')).deleteRun(run, opts, await contextFor(cmd)));
}
