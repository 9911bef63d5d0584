import { CommanderError } from 'commander';
import { isFiberError } from '../errors/index.js';
import { redactText } from '../log/redact.js';
import { buildProgram } from './program.js';

/** Exit statuses: the only place in fiber that decides them. */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/**
 * The one entry point. Commands throw typed errors; this maps them to exit codes and a message.
 * A user error prints one line (no stack) unless --verbose; a non-fiber error is a bug and
 * always prints its stack.
 */
export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose');
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    process.exitCode = process.exitCode ?? EXIT_OK;
  } catch (err) {
    process.exitCode = report(err, verbose);
  }
  // Every command has closed what it opened by now (services return only after their signal and
  // shutdown); a stray library timer must not keep the process alive past its result.
  setImmediate(() => process.exit(process.exitCode ?? EXIT_OK));
}

function report(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // commander already printed its message. --help and --version exit 0; everything else it
    // reports (unknown option, missing argument, help shown because no command was given) is usage.
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (isFiberError(err)) {
    process.stderr.write(`fiber: ${redactText(err.message)} [${err.code}]\n`);
    if (verbose && err.stack) process.stderr.write(`${redactText(err.stack)}\n`);
    if (verbose && err.cause) process.stderr.write(`caused by: ${redactText(String((err.cause as Error).stack ?? err.cause))}\n`);
    return err.kind === 'usage' ? EXIT_USAGE : EXIT_RUNTIME;
  }
  const e = err as Error;
  process.stderr.write(`fiber: internal error: ${redactText(e?.stack ?? String(err))}\n`);
  return EXIT_RUNTIME;
}
