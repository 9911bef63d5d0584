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
  // Services (ps, worker, demo) keep the loop alive on purpose; one-shot commands have closed
  // their connections by now. A stray handle must not keep `fiber status` hanging.
  if (!isLongRunning(argv)) {
    setImmediate(() => process.exit(process.exitCode ?? EXIT_OK));
  }
}

const LONG_RUNNING = new Set(['ps', 'worker', 'demo']);
function isLongRunning(argv: string[]): boolean {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return first !== undefined && LONG_RUNNING.has(first);
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
