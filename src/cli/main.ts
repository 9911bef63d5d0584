import { CommanderError } from 'commander';
import { isFiberError } from '../errors/index.js';
import { redactText } from '../log/redact.js';
import { isTransient } from '../storage/retry.js';
import { buildProgram } from './program.js';
import { exitQuietlyOnClosedStdout } from './terminal.js';

/**
 * Exit statuses: the only place in fiber that decides them (docs/ops.md has the table; the
 * Kubernetes Jobs' podFailurePolicy reads them: FailJob on 2, retry on 75).
 */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
/** EX_TEMPFAIL (sysexits.h): a service this command needs is not reachable yet; try again later. */
export const EXIT_TEMPFAIL = 75;

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (isFiberError(err)) return err.kind === 'usage' ? EXIT_USAGE : err.kind === 'unavailable' || err.code === 'fiber.storage.transient' ? EXIT_TEMPFAIL : EXIT_RUNTIME;
  // Storage retries exhausted on a connection-level failure (S3 endpoint down, DNS not ready).
  return isTransient(err) ? EXIT_TEMPFAIL : EXIT_RUNTIME;
}

/**
 * The one entry point. Commands throw typed errors; this maps them to exit codes and a message.
 * A user error prints one line (no stack) unless --verbose; a non-fiber error is a bug and
 * always prints its stack.
 */
export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose');
  exitQuietlyOnClosedStdout();
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
    return exitCodeFor(err);
  }
  if (isFiberError(err)) {
    process.stderr.write(`fiber: ${redactText(err.message)} [${err.code}]\n`);
    if (verbose && err.stack) process.stderr.write(`${redactText(err.stack)}\n`);
    if (verbose && err.cause) process.stderr.write(`caused by: ${redactText(String((err.cause as Error).stack ?? err.cause))}\n`);
    return exitCodeFor(err);
  }
  const e = err as Error;
  if (isTransient(err)) {
    process.stderr.write(`fiber: storage not reachable after retries (${redactText(e?.message ?? String(err))}); try again later [fiber.storage.unavailable]\n`);
    if (verbose && e?.stack) process.stderr.write(`${redactText(e.stack)}\n`);
    return EXIT_TEMPFAIL;
  }
  process.stderr.write(`fiber: internal error: ${redactText(e?.stack ?? String(err))}\n`);
  return EXIT_RUNTIME;
}
