import { createRng, type Rng } from '../data/pipeline/rng.js';
import type { ChildServices } from './child-services.js';

/** `fiber demo --chaos`: what to kill and how often. */
export interface ChaosOptions {
  /** Seconds between kills. */
  readonly everySeconds: number;
  /** Seeds the choice of victim: the same seed kills the same sequence of services. */
  readonly seed: number;
}

export interface ChaosKill {
  /** Seconds since chaos started. */
  readonly at: number;
  readonly name: string;
}

/**
 * Every `everySeconds`, SIGKILL one live worker or parameter-server shard, chosen by a seeded
 * random draw, as a node failure or an OOM kill would; a tick while an earlier victim is still
 * down passes, so failures come one at a time. Shard 0 is spared: it hosts the
 * coordinator, whose stage job comes back only after BullMQ's stalled-job check (minutes, as on
 * a cluster); every other death is repaired within seconds by the supervisor and the system's
 * retries, which is what the demo shows. Idempotent `stop()`.
 */
export class Chaos {
  readonly kills: ChaosKill[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();
  private readonly rng: Rng;

  constructor(private readonly children: ChildServices, o: ChaosOptions, private readonly onKill: (kill: ChaosKill) => void = () => {}) {
    this.rng = createRng(o.seed);
    this.timer = setInterval(() => this.strike(), o.everySeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private strike(): void {
    // One failure at a time: while an earlier victim is still coming back, this tick passes.
    if (this.children.services.some((s) => s.exited !== null)) return;
    const victims = chaosVictims(this.children.services.map((s) => ({ name: s.name, alive: !s.gaveUp })));
    const r = this.rng.next();
    if (victims.length === 0) return;
    const name = victims[Math.floor(r * victims.length)]!;
    if (!this.children.kill(name)) return;
    const kill = { at: Math.round((Date.now() - this.started) / 100) / 10, name };
    this.kills.push(kill);
    this.onKill(kill);
  }
}

/** Who may be killed: live workers and shards other than ps-0, in a stable order. */
export function chaosVictims(services: ReadonlyArray<{ readonly name: string; readonly alive: boolean }>): string[] {
  return services.filter((s) => s.alive && s.name !== 'ps-0' && /^(ps|worker)-\d+$/.test(s.name)).map((s) => s.name).sort();
}
