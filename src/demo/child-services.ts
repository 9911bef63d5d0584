import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withMallocTuning } from '../ops/malloc-tuning.js';

/** The CLI launcher of this installation (dist/src/demo -> bin/fiber), for `fiber ps` / `fiber worker` children. */
export const FIBER_MAIN = fileURLToPath(new URL('../../../bin/fiber', import.meta.url));

export interface ChildService {
  readonly name: string;
  /** The current process (a new one after each restart). */
  child: ChildProcess;
  /** Where its stdout and stderr go (every life appends to the same file). */
  readonly logFile: string;
  /** Set while it is down: its last exit's code or signal. */
  exited: string | null;
  /** How often it was restarted after dying. */
  restarts: number;
  /** Set once it died too often in a row to keep restarting (a crash loop): it stays down. */
  gaveUp: boolean;
  /** Set while a kill asked for by `kill()` is under way: that death is no crash. */
  killed: boolean;
}

/** How the demo restarts a dead child, like a Kubernetes restartPolicy: Always with its back-off. */
export interface RestartPolicy {
  /** Wait before the first restart; doubles after each exit that came soon after a start. @defaultValue 500 */
  readonly initialBackoffMs: number;
  /** @defaultValue 10000 */
  readonly maxBackoffMs: number;
  /** A life at least this long resets the back-off. @defaultValue 20000 */
  readonly stableAfterMs: number;
  /** Consecutive short lives after which the service is left down and reported. @defaultValue 5 */
  readonly maxCrashLoop: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialBackoffMs: 500, maxBackoffMs: 10_000, stableAfterMs: 20_000, maxCrashLoop: 5 };

/**
 * `fiber ps` shards and `fiber worker`s run as child processes of one command (the demo), each
 * logging to its own file, and supervised as Kubernetes supervises pods: one that dies is started
 * again after a back-off (doubling while it keeps dying young), the run goes on, and restarts are
 * counted. A crash loop (`maxCrashLoop` short lives in a row) is given up on and reported by
 * `crashed()`. Children get FIBER_EXIT_WITH_PARENT=1, so even a SIGKILLed parent leaves none
 * behind. `stop()` asks each to finish (SIGINT), then kills what is left; it is idempotent.
 */
export class ChildServices {
  readonly services: ChildService[] = [];
  private readonly logs: WriteStream[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping: Promise<void> | null = null;

  constructor(private readonly logDir: string, private readonly env: NodeJS.ProcessEnv, private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  start(name: string, args: readonly string[]): ChildService {
    const logFile = join(this.logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    this.logs.push(log);
    const service: ChildService = { name, child: null as unknown as ChildProcess, logFile, exited: null, restarts: 0, gaveUp: false, killed: false };
    let shortLives = 0;
    const launch = () => {
      const startedAt = Date.now();
      const child = spawn(process.execPath, [FIBER_MAIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...withMallocTuning(this.env), FIBER_EXIT_WITH_PARENT: '1', FIBER_LOG_LEVEL: this.env.FIBER_LOG_LEVEL ?? 'info' },
      });
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      service.child = child;
      service.exited = null;
      child.once('exit', (code, signal) => {
        service.exited = signal ?? `code ${String(code)}`;
        if (this.stopping) return;
        // A death asked for (chaos) restarts at once and says nothing about a crash loop.
        const asked = service.killed;
        service.killed = false;
        if (!asked) shortLives = Date.now() - startedAt >= this.policy.stableAfterMs ? 1 : shortLives + 1;
        if (shortLives > this.policy.maxCrashLoop) {
          service.gaveUp = true;
          log.write(`\n--- fiber demo: ${name} exited (${service.exited}) ${shortLives} times in a row soon after starting: not restarting it ---\n`);
          return;
        }
        const backoff = asked ? this.policy.initialBackoffMs : Math.min(this.policy.maxBackoffMs, this.policy.initialBackoffMs * 2 ** (Math.max(1, shortLives) - 1));
        log.write(`\n--- fiber demo: ${name} exited (${service.exited}); restarting in ${backoff} ms ---\n`);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (this.stopping) return;
          service.restarts++;
          launch();
        }, backoff);
        this.timers.add(timer);
      });
    };
    launch();
    this.services.push(service);
    return service;
  }

  /** SIGKILL a running service on purpose (`--chaos`); the supervisor restarts it as after any death. */
  kill(name: string): boolean {
    const s = this.services.find((x) => x.name === name);
    if (!s || s.exited !== null || s.gaveUp || this.stopping) return false;
    s.killed = true;
    return s.child.kill('SIGKILL');
  }

  /** Services that are down for good (a crash loop); a restarting one is not among them. */
  crashed(): ChildService[] {
    return this.stopping ? [] : this.services.filter((s) => s.gaveUp);
  }

  /** Restarts so far, by service name (only those restarted). */
  restarts(): Record<string, number> {
    return Object.fromEntries(this.services.filter((s) => s.restarts > 0).map((s) => [s.name, s.restarts]));
  }

  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
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
