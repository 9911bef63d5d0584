import { Command, InvalidArgumentError } from 'commander';
import { DEMO_DEFAULTS } from '../demo/demo-options.js';
import { contextFor } from './run-commands.js';

function positiveInt(flag: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${flag} must be an integer from 1 to ${max}`);
    return n;
  };
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

export interface DemoCliOptions {
  readonly workers: number;
  readonly shards: number;
  readonly steps?: number;
  readonly coarseSteps?: number;
  readonly fineSteps?: number;
  readonly data?: string;
  readonly out: string;
  readonly seed: number;
  readonly images: number;
  readonly evalImages: number;
  readonly json?: boolean;
  /** `--chaos` alone is true (the default period); `--chaos 5` is 5 seconds. */
  readonly chaos?: true | number;
  readonly chaosSeed?: number;
}

/** Seconds between chaos kills when `--chaos` has no value. */
export const DEFAULT_CHAOS_SECONDS = 20;

function chaosSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('--chaos must be a number of seconds from 1 to 86400');
  return n;
}

/** `fiber demo`: the whole system on one machine, no cloud account, no download. */
export function registerDemoCommand(program: Command): void {
  program.command('demo')
    .description('pretrain fiber-tiny on this machine: Redis, parameter servers and workers as local processes, generated data, coarse then fine, eval and report')
    .option('--workers <n>', 'gradient workers', positiveInt('--workers', 16), DEMO_DEFAULTS.workers)
    .option('--shards <n>', 'parameter-server shards', positiveInt('--shards', 8), DEMO_DEFAULTS.shards)
    .option('--steps <n>', `optimizer steps of each stage (default: coarse ${DEMO_DEFAULTS.coarseSteps}, fine ${DEMO_DEFAULTS.fineSteps})`, positiveInt('--steps', 1_000_000))
    .option('--coarse-steps <n>', 'optimizer steps of the coarse stage (overrides --steps)', positiveInt('--coarse-steps', 1_000_000))
    .option('--fine-steps <n>', 'optimizer steps of the fine stage (overrides --steps)', positiveInt('--fine-steps', 1_000_000))
    .option('--data <url>', 'a packed dataset (the --out of fiber data pack / data synth: coarse/ and fine/ shards) instead of generated scenes')
    .option('--images <n>', 'generated training scenes', positiveInt('--images', 1_000_000), DEMO_DEFAULTS.trainImages)
    .option('--eval-images <n>', 'generated held-out scenes for evaluation', positiveInt('--eval-images', 100_000), DEMO_DEFAULTS.evalImages)
    .option('--out <dir>', 'folder for data, checkpoints, logs and the report', DEMO_DEFAULTS.out)
    .option('--seed <n>', 'seed of the data and the model: the same seed gives the same bits whatever --workers and --shards', nonNegativeInt, DEMO_DEFAULTS.seed)
    .option('--chaos [seconds]', `SIGKILL a random worker or shard (not ps-0) every few seconds (default ${DEFAULT_CHAOS_SECONDS}) to show the run surviving it: restarted, same sha256`, chaosSeconds)
    .option('--chaos-seed <n>', 'seed of the chaos victims (default: --seed)', nonNegativeInt)
    .option('--json', 'print the summary as JSON (progress goes to stderr)')
    .action(async (opts: DemoCliOptions, cmd: Command) => (await import('./commands/demo.js')).demo(opts, await contextFor(cmd)));
}
