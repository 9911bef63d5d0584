import type { Redis } from 'ioredis';
import type { ObjectStore } from '../storage/object-store.js';
import type { Logger } from '../log/logger.js';
import { loadFlatRange, readManifest, writeShardFile } from './checkpoint-io.js';
import { redisNormExchange } from './norm-exchange.js';
import { planStage } from '../stage/plan-stage.js';
import { shardSize, shardSlices, type ShardLayout } from '../stage/shard-layout.js';
import { ShardServer } from './shard-server.js';
import { ShardState } from './shard-state.js';
import { psKeys } from '../queue/keys.js';
import { readActiveStage, readSaveRequest, SHARD_HEARTBEAT_MS, SHARD_TTL_S, type ActiveStage, type ShardRecord } from '../queue/ps-control.js';
import type { ServerParamSpec } from '../model/param-spec.js';
import { RepeatLimiter } from '../log/repeat-limiter.js';

export interface ShardProcessOptions {
  readonly shard: number;
  readonly numShards: number;
  readonly token: string;
  /** Interface to bind (0.0.0.0 in a pod). */
  readonly bindHost: string;
  /** Name workers reach this shard by (the pod's DNS name in k8s). */
  readonly advertiseHost: string;
  readonly port: number;
  readonly redis: Redis;
  readonly store: ObjectStore;
  readonly log: Logger;
  /** How often the control record is read. @defaultValue 50 */
  readonly pollMs?: number;
  /** Called after every control-loop pass that reached Redis: the liveness heartbeat. */
  readonly onTick?: () => void;
}

interface Loaded {
  readonly active: ActiveStage;
  readonly layout: ShardLayout;
  readonly specs: readonly ServerParamSpec[];
  readonly state: ShardState;
  savedStep: number;
  /** The latest version Redis acknowledged (with the ready mark); null before the first report. */
  reported: number | null;
}

/**
 * One parameter-server shard: serves its slice over TCP, follows the active stage from Redis
 * (load the slice, report ready, report each applied version, write checkpoint files on
 * request), and announces itself with a heartbeat.
 */
export class ShardProcess {
  readonly startedAt = new Date().toISOString();
  private server: ShardServer;
  private loaded: Loaded | null = null;
  private loading: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | null = null;
  private port = 0;
  private ticking = false;
  /** The control loop runs every 50 ms: a condition that persists is logged once, then summarised. */
  private readonly repeats: RepeatLimiter;

  constructor(private readonly o: ShardProcessOptions) {
    this.repeats = new RepeatLimiter(o.log, 60_000);
    this.server = new ShardServer({
      shard: o.shard, token: o.token, host: o.bindHost, port: o.port, log: o.log,
      maxBodyBytes: 0xffff_fffc, state: () => this.loaded?.state ?? null,
    });
  }

  get stats() { return this.server.stats; }
  get version(): number | null { return this.loaded?.state.version ?? null; }
  get activeEpoch(): string | null { return this.loaded?.active.epoch ?? null; }

  async start(): Promise<number> {
    this.port = await this.server.listen();
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat().catch((err: Error) => this.o.log.warn({ err: err.message }, 'heartbeat failed')), SHARD_HEARTBEAT_MS));
    this.timers.push(setInterval(() => void this.tick(), this.o.pollMs ?? 50));
    this.o.log.info({ shard: this.o.shard, shards: this.o.numShards, port: this.port, advertise: this.o.advertiseHost }, 'parameter-server shard listening');
    return this.port;
  }

  /** SIGTERM: ask the coordinator for a checkpoint at the next step boundary, wait for it (bounded). */
  async preempt(timeoutMs: number): Promise<void> {
    const l = this.loaded;
    if (!l) return;
    const atVersion = l.state.version;
    await this.o.redis.set(psKeys.preempt(l.active.epoch), String(this.o.shard), 'EX', 3600);
    this.o.log.warn({ shard: this.o.shard, version: atVersion }, 'SIGTERM: waiting for a checkpoint before exit');
    // The coordinator clears the flag once the checkpoint (files, manifest, latest) is committed.
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.loaded === l && (l.savedStep < atVersion || (await this.o.redis.exists(psKeys.preempt(l.active.epoch))) === 1)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (Date.now() >= deadline) this.o.log.error({ shard: this.o.shard }, 'no checkpoint before the preemption deadline: up to checkpoint.everySteps steps will be redone');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      this.loaded?.state.dispose();
      await this.server.close();
      // Only our own record: a deposed shard 0 must not delete the one its successor wrote.
      const key = psKeys.shard(this.o.shard);
      const mine = (raw: string | null) => {
        const r = raw === null ? null : JSON.parse(raw) as Partial<ShardRecord>;
        return r?.startedAt === this.startedAt && r.pid === process.pid;
      };
      await this.o.redis.get(key).then((raw) => (mine(raw) ? this.o.redis.del(key) : 0)).catch(() => undefined);
    })();
    return this.closing;
  }

  private async heartbeat(): Promise<void> {
    const record: ShardRecord = { shard: this.o.shard, host: this.o.advertiseHost, port: this.port, pid: process.pid, startedAt: this.startedAt };
    await this.o.redis.set(psKeys.shard(this.o.shard), JSON.stringify(record), 'EX', SHARD_TTL_S);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closing) return;
    this.ticking = true;
    try {
      const active = await readActiveStage(this.o.redis);
      if (!active) {
        if (this.loaded) this.o.log.info({ run: this.loaded.active.run, stage: this.loaded.active.stage }, 'stage ended; slice released');
        this.loaded?.state.dispose();
        this.loaded = null;
        this.o.onTick?.();
        return;
      }
      if (active.epoch !== this.loaded?.active.epoch) {
        this.loading ??= this.load(active).finally(() => { this.loading = null; });
        await this.loading;
        return;
      }
      if (this.loaded.reported !== this.loaded.state.version) await this.report();
      await this.maybeSave(this.loaded);
      this.o.onTick?.();
    } catch (err) {
      this.repeats.error(`loop:${(err as Error).message}`, { err: (err as Error).message, shard: this.o.shard }, 'shard control loop');
    } finally {
      this.ticking = false;
    }
  }

  private async load(active: ActiveStage): Promise<void> {
    if (active.numShards !== this.o.numShards) {
      this.repeats.error(`shards:${active.epoch}`, { epoch: active.epoch, expected: active.numShards, mine: this.o.numShards }, 'the active stage was planned for another number of shards; check --shards / FIBER_PS_SHARDS');
      return;
    }
    this.repeats.clear(`shards:${active.epoch}`);
    const { specs, layout } = planStage(active.config, active.stage, this.o.numShards);
    const lo = layout.shardStarts[this.o.shard]!;
    const hi = layout.shardStarts[this.o.shard + 1]!;
    const manifest = await readManifest(this.o.store, active.loadFrom);
    const t = await loadFlatRange(this.o.store, active.loadFrom, manifest, lo, hi);
    const e = active.epoch;
    const state = new ShardState({
      run: active.run, stage: active.stage, shard: this.o.shard, flatStart: lo, tasksPerStep: active.config.batch[active.stage].tasksPerStep,
      staleness: active.config.batch[active.stage].staleness,
      version: active.startStep, params: t.params, expAvg: t.expAvg, expAvgSq: t.expAvgSq,
      slices: shardSlices(layout, specs, this.o.shard), specs, optimizer: active.config.optimizer[active.stage],
    }, redisNormExchange(this.o.redis, psKeys.epoch(e), this.o.shard, this.o.numShards), () => {
      void this.report().catch(() => undefined); // the control loop tries again if this fails
    }, (err, step) => {
      this.repeats.error(`apply:${e}`, { epoch: e, step, err: err.message, retryMs: ShardState.APPLY_RETRY_MS }, 'applying a step failed; trying again');
    });
    this.loaded?.state.dispose();
    this.loaded = { active, layout, specs, state, savedStep: active.startStep, reported: null };
    await this.report();
    this.o.log.info({ run: active.run, stage: active.stage, epoch: e, version: active.startStep, elements: shardSize(layout, this.o.shard), from: active.loadFrom }, 'shard slice loaded');
  }

  /**
   * Tell the coordinator that this shard holds the loaded epoch (ready) at its current version.
   * The control loop calls it again until it succeeds, so a report that failed while Redis was
   * restarting is made again instead of leaving the coordinator waiting. (A Redis that comes back
   * empty is recovered by restarting the services and `fiber resume`, docs/reliability.md.)
   */
  private async report(): Promise<void> {
    const l = this.loaded;
    if (!l) return;
    const e = l.active.epoch;
    const version = l.state.version;
    await this.o.redis.multi()
      .hset(psKeys.version(e), String(this.o.shard), String(version))
      .hset(psKeys.ready(e), String(this.o.shard), String(l.active.startStep))
      .expire(psKeys.ready(e), 7 * 86400).expire(psKeys.version(e), 7 * 86400)
      .exec();
    if (this.loaded === l) l.reported = Math.max(l.reported ?? -1, version);
  }

  private async maybeSave(l: Loaded): Promise<void> {
    const req = await readSaveRequest(this.o.redis, l.active.epoch);
    if (!req || req.step <= l.savedStep) return;
    await l.state.idle();
    if (l.state.version !== req.step) return; // the coordinator asks only at a step boundary; wait for it
    const file = await writeShardFile(this.o.store, req.stepDir, l.specs, l.layout, this.o.shard, { params: l.state.params, expAvg: l.state.expAvg, expAvgSq: l.state.expAvgSq }, req.step);
    await this.o.redis.multi().hset(psKeys.saved(l.active.epoch, req.step), String(this.o.shard), JSON.stringify(file)).expire(psKeys.saved(l.active.epoch, req.step), 86400).exec();
    l.savedStep = req.step;
  }
}
