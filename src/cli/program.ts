import { Command, Option } from 'commander';
import { registerRunCommands } from './run-commands.js';
import { registerLifecycleCommands } from './lifecycle-commands.js';
import { registerModelCommands } from './model-commands.js';
import { registerDataCommands } from './data-commands.js';
import { registerEvalCommands } from './eval-commands.js';
import { registerServiceCommands } from './service-commands.js';
import { registerDemoCommand } from './demo-commands.js';

/**
 * The declarative command table. Each group file declares its commands and options; every action
 * lazily imports its implementation from ./commands/, so `fiber --help` loads neither
 * TensorFlow.js nor the AWS SDK.
 */
export function buildProgram(): Command {
  const program = new Command('fiber')
    .description('Pretrain FIBER (Fusion-In-the-Backbone) on a cluster: coarse image-text, then fine image-text-box.')
    .version(FIBER_VERSION, '-V, --version')
    .addOption(new Option('--verbose', 'print stack traces and debug logs'))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).env('FIBER_LOG_LEVEL'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDemoCommand(program);
  registerRunCommands(program);
  registerLifecycleCommands(program);
  registerModelCommands(program);
  registerDataCommands(program);
  registerEvalCommands(program);
  registerServiceCommands(program);
  return program;
}

/** Global options every command can read through `cmd.optsWithGlobals()`. */
export interface GlobalOptions {
  readonly verbose?: boolean;
  readonly logLevel?: string;
}

/** Kept in step with package.json by test/cli/program.test.ts. */
export const FIBER_VERSION = '0.1.0';
