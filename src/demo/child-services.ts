import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withMallocTuning } from '../ops/malloc-tuning.js';

/** The CLI launcher of this installation (dist/src/demo -> bin/fiber), for `fiber ps` / `fiber worker` children. */
export const FIBER_MAIN = fileURLToPath(new URL('../../../bin/fiber', import.meta.url));

export interface ChildService {
  readonly name: string;
  readonly child: ChildProcess;
  /** Where its stdout and stderr go. */
  readonly logFile: string;
  /** Set once it exited: its code or signal. */
  exited: string | null;
}

/**
 * `fiber ps` shards and `fiber worker`s run as child processes of one command (the demo), each
 * logging to its own file. They get FIBER_EXIT_WITH_PARENT=1, so even a SIGKILLed parent leaves
 * none behind. `stop()` asks each to finish (SIGINT), then kills what is left; it is idempotent.
 */
export class ChildServices {
  readonly services: ChildService[] = [];
  private readonly logs: WriteStream[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly logDir: string, private readonly env: NodeJS.ProcessEnv) {}

  start(name: string, args: readonly string[]): ChildService {
    const logFile = join(this.logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    this.logs.push(log);
    const child = spawn(process.execPath, [FIBER_MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...withMallocTuning(this.env), FIBER_EXIT_WITH_PARENT: '1', FIBER_LOG_LEVEL: this.env.FIBER_LOG_LEVEL ?? 'info' },
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const service: ChildService = { name, child, logFile, exited: null };
    child.once('exit', (code, signal) => { service.exited = signal ?? `code ${String(code)}`; });
    this.services.push(service);
    return service;
  }

  /** Services that exited although nobody stopped them. */
  crashed(): ChildService[] {
    return this.stopping ? [] : this.services.filter((s) => s.exited !== null);
  }

  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.services.map((s) => stopChild(s.child, graceMs)));
      await Promise.all(this.logs.map((l) => new Promise<void>((resolve) => l.end(() => resolve()))));
    })();
    return this.stopping;
  }
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGINT');
  });
}
