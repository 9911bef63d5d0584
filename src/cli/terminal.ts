/**
 * What a command may assume about where its output goes. Colours and bars only on a terminal, and
 * never when NO_COLOR is set to anything non-empty (no-color.org); FORCE_COLOR=1 turns colour on
 * off a terminal (for people piping into `less -R`).
 */
export function colorEnabled(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Whether redrawing in place (\r, cursor moves) makes sense on this stream. */
export function isInteractive(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/**
 * A reader that closes stdout early (`fiber status --json | head`) is a normal way to stop
 * reading, not a failure: end quietly with exit 0 instead of an EPIPE stack trace. Other stdout
 * errors still surface. Installed once, by main.
 */
export function exitQuietlyOnClosedStdout(exit: (code: number) => never = (c) => process.exit(c)): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') exit(0);
    throw err;
  });
}
