import { isInteractive } from './terminal.js';

export interface Progress {
  /** `done` of `total` (total may be unknown, or change as it becomes known). */
  update(done: number, total?: number): void;
  /** The last state, printed once; further calls do nothing. */
  finish(): void;
}

export interface ProgressOptions {
  readonly stream?: NodeJS.WriteStream;
  readonly env?: NodeJS.ProcessEnv;
  /** Off a terminal: a plain line at least this often while it moves. @defaultValue 10 s */
  readonly plainEveryMs?: number;
  readonly now?: () => number;
}

/**
 * Progress of a long command on stderr, so stdout (and --json) stays the result: a bar redrawn in
 * place on a terminal; off one (a log file, CI, `kubectl logs`), a plain line per 10% of a known
 * total or per `plainEveryMs`, whichever comes first, and one at the end.
 */
export function createProgress(label: string, unit: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = isInteractive(stream, opts.env ?? process.env);
  const now = opts.now ?? Date.now;
  const every = opts.plainEveryMs ?? 10_000;
  let done = 0;
  let total: number | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastTenth = -1;
  let lastPlain = now();
  let finished = false;
  const text = () => {
    const of = total !== undefined ? `${done}/${total} ${unit}` : `${done} ${unit}`;
    return total ? `${label} ${bar(done / total)} ${of} (${Math.floor((100 * done) / total)}%)` : `${label}: ${of}`;
  };
  return {
    update(d, t) {
      if (finished) return;
      done = d;
      if (t !== undefined) total = t;
      const at = now();
      if (tty) {
        if (at - lastDraw < 100 && done !== total) return;
        lastDraw = at;
        stream.write(`\r\x1b[2K${text().slice(0, (stream.columns ?? 100) - 1)}`);
        return;
      }
      const tenth = total ? Math.floor((10 * done) / total) : -1;
      if ((total && tenth > lastTenth) || at - lastPlain >= every) {
        lastTenth = tenth;
        lastPlain = at;
        stream.write(`fiber: ${text()}\n`);
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      if (tty) stream.write(`\r\x1b[2K${text()}\n`);
      else if (!total || Math.floor((10 * done) / total) !== lastTenth) stream.write(`fiber: ${text()}\n`);
    },
  };
}

function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
