import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseStoredRunConfig, type RunConfig, type StageName } from '../config/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Logger } from '../log/logger.js';
import { metricsKey, psKeys, QUEUE_PREFIX, registryKeys, STAGES_QUEUE, TASKS_QUEUE } from '../queue/keys.js';
import { recordRunError } from '../queue/run-errors.js';
import { RunRegistry } from '../queue/run-registry.js';
import { parseStageJobEnvelope, type StageJobPayload } from '../queue/stage-job.js';
import { parseJobData } from '../queue/job-data.js';
import { openStageQueue } from '../queue/stage-queue.js';
import { logQueueErrors } from '../queue/log-queue-errors.js';
import { RepeatLimiter } from '../log/repeat-limiter.js';
import { promoteWaitingStage } from '../queue/submit-stage.js';
import { CHECKPOINT_FORMAT, stageDir, stepDirName, type CheckpointFile, type CheckpointManifest } from './checkpoint-layout.js';
import { joinUrl } from '../storage/url.js';
import { commitCheckpoint, loadFlatRange, readLatest, writeModelFile, writeShardFile } from './checkpoint-io.js';
import { lrFactor } from './lr-schedule.js';
import { planStage } from '../stage/plan-stage.js';
import type { ShardLayout } from '../stage/shard-layout.js';
import { stageStartWeights } from './stage-init.js';
import { stageTokenizer, type StageStart } from './stage-tokenizer.js';
import type { TokenizerIdentity } from '../data/pipeline/tokenizer-identity.js';
import { isFiberError } from '../errors/index.js';
import { hashNumbers, readShards, savedFiles, type ActiveStage, type SaveRequest } from '../queue/ps-control.js';
import { parseTaskResult, taskJobId, type TaskJobPayload, type TaskResult } from '../queue/task-job.js';
import { pollUntil } from './poll-until.js';
import type { ServerParamSpec } from '../model/param-spec.js';
import { EVAL_JOB_NAME, evalJobId, type EvalJobPayload } from '../queue/eval-job.js';
import { appendHistoryQuietly } from './run-history.js';
import { LeaseLostError, type CoordinatorLease } from './coordinator-lease.js';
import { StageDeliveries } from './stage-deliveries.js';
import type { StepDelivery } from './delivery-ledger.js';
import type { StepTime } from '../queue/step-time.js';
import { splitStepTime, type TaskTiming } from './split-step-time.js';
import { addStageTime, taskTiming } from './step-timing.js';

export interface CoordinatorOptions {
  readonly numShards: number;
  readonly redis: Redis;
  /** A second connection: BullMQ workers block on theirs. */
  readonly workerRedis: Redis;
  readonly store: ObjectStore;
  readonly log: Logger;
  /** How long to wait for every shard to register / load / apply a step. @defaultValue 10 min */
  readonly waitTimeoutMs?: number;
  /** Task job options: how often a task is retried after a crash, and how long its lock lasts. */
  readonly taskAttempts?: number;
  /**
   * The coordinator lease (`fiber ps` holds it before it coordinates): every write that moves a
   * stage is fenced by its token. Without one (tests, tools) the writes are plain.
   */
  readonly lease?: CoordinatorLease;
  /** Called after each step's progress is written (`fiber ps` feeds its Prometheus gauges). */
  readonly onStep?: (report: StepReport) => void;
}

/** One applied step as the coordinator reports it. */
export interface StepReport {
  readonly run: string;
  readonly stage: StageName;
  readonly step: number;
  readonly totalSteps: number;
  /** Smoothed, by objective (and total). */
  readonly losses: Readonly<Record<string, number>>;
  readonly lr: number;
  readonly samplesPerSec: number;
  /** Samples the step consumed. */
  readonly samples: number;
  readonly time: StepTime;
}

/** Returned by a completed stage job; the fine stage starts from `checkpoint`. */
export interface StageResult {
  readonly checkpoint: string;
  readonly step: number;
  readonly cancelled: boolean;
}

class EpochRestart extends Error {}

/**
 * The stage coordinator (runs beside shard 0): takes stage jobs, initialises or resumes the
 * parameters, activates the shards, queues each step's T gradient tasks with deterministic ids,
 * advances when every shard has applied the step, writes progress for `fiber status`, and
 * checkpoints every K steps and at the end. A shard that restarts is brought back by a new epoch
 * from the latest checkpoint (at most K steps lost); a coordinator that dies leaves its stage job
 * to BullMQ's stalled-job recovery, and the next one resumes from the latest checkpoint too.
 */
export class Coordinator {
  private worker: Worker<unknown, StageResult> | null = null;
  private readonly tasks: Queue<TaskJobPayload, TaskResult>;
  /** The same tasks queue, for evaluation jobs. */
  private readonly evals: Queue<EvalJobPayload>;
  private readonly registry: RunRegistry;
  /** For queueing a waiting fine stage when its coarse stage completes. */
  private readonly stageQueue: ReturnType<typeof openStageQueue>;
  private closing: Promise<void> | null = null;
  private readonly connectionErrors: RepeatLimiter;
  private readonly abort = new AbortController();
  /** The delivery ledger of the stage being run (concurrency 1: one stage at a time). */
  private deliveries: StageDeliveries | null = null;

  constructor(private readonly o: CoordinatorOptions) {
    this.tasks = new Queue<TaskJobPayload, TaskResult>(TASKS_QUEUE, { connection: o.redis, prefix: QUEUE_PREFIX });
    this.evals = new Queue<EvalJobPayload>(TASKS_QUEUE, { connection: o.redis, prefix: QUEUE_PREFIX });
    this.registry = new RunRegistry(o.redis);
    this.stageQueue = openStageQueue(o.redis);
    this.connectionErrors = new RepeatLimiter(o.log, 60_000);
    logQueueErrors(this.tasks, this.connectionErrors, 'tasks queue');
    logQueueErrors(this.evals, this.connectionErrors, 'evals queue');
    logQueueErrors(this.stageQueue, this.connectionErrors, 'stages queue');
  }

  start(): void {
    this.worker = new Worker<unknown, StageResult>(STAGES_QUEUE, (job) => this.process(job), {
      connection: this.o.workerRedis, prefix: QUEUE_PREFIX, concurrency: 1,
      // Initialising fiber-base in JS takes seconds of CPU: keep the lock well above that.
      lockDuration: 120_000,
    });
    this.worker.on('failed', (job, err) => this.o.log.error({ job: job?.id, err: err.message }, 'stage job failed'));
    logQueueErrors(this.worker, this.connectionErrors, 'stage worker');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      const results = await Promise.allSettled([this.worker?.close(), this.tasks.close(), this.evals.close(), this.stageQueue.close()]);
      for (const r of results) if (r.status === 'rejected') this.o.log.error({ err: String(r.reason) }, 'coordinator close');
    })();
    return this.closing;
  }

  private async process(job: Job<unknown, StageResult>): Promise<StageResult> {
    const envelope = parseJobData(parseStageJobEnvelope, job.data);
    const log = this.o.log.child({ run: envelope.run, stage: envelope.stage, job: job.id });
    let config: RunConfig;
    try {
      config = parseStoredRunConfig(envelope.config);
    } catch (err) {
      await this.fail(envelope, `invalid config: ${(err as Error).message}`);
      throw new UnrecoverableError((err as Error).message);
    }
    const p: StageJobPayload = { ...envelope, config };
    const now = new Date().toISOString();
    await this.o.lease?.assertHeld();
    await this.registry.transition(p.run, p.stage, ['queued', 'running'], 'running', { startedAt: now, error: '' });
    try {
      const result = await this.runStage(p, config, log);
      return result;
    } catch (err) {
      // Deposed: the new coordinator owns the stage now, its registry record included.
      if (err instanceof LeaseLostError) throw err;
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
      log.error({ err: (err as Error).message, attempt: job.attemptsMade + 1, last }, 'stage failed');
      await recordRunError(this.o.redis, p.run, { stage: p.stage, source: 'coordinator', message: `${last ? 'stage failed' : `stage attempt ${job.attemptsMade + 1} failed, retrying`}: ${(err as Error).message}` });
      if (last) await this.fail(p, (err as Error).message);
      else await this.registry.updateStage(p.run, p.stage, { error: `attempt ${job.attemptsMade + 1} failed, retrying: ${(err as Error).message}` });
      throw err;
    } finally {
      await this.delControl(psKeys.active).catch((err: unknown) => { if (!(err instanceof LeaseLostError)) throw err; });
    }
  }

  /**
   * The control records that move a stage (the active epoch, a save request): written only while
   * this coordinator holds the lease, atomically with the token check (coordinator-lease.ts).
   */
  private async setControl(key: string, value: string, ttlSeconds = 0): Promise<void> {
    if (this.o.lease) return this.o.lease.set(key, value, ttlSeconds);
    if (ttlSeconds > 0) await this.o.redis.set(key, value, 'EX', ttlSeconds);
    else await this.o.redis.set(key, value);
  }

  private async delControl(key: string): Promise<void> {
    if (this.o.lease) return this.o.lease.del(key);
    await this.o.redis.del(key);
  }

  private async fail(p: Pick<StageJobPayload, 'run' | 'stage'>, message: string): Promise<void> {
    await this.o.lease?.assertHeld();
    await this.registry.transition(p.run, p.stage, ['queued', 'running'], 'failed', { finishedAt: new Date().toISOString(), error: message });
  }

  private async runStage(p: StageJobPayload, config: RunConfig, log: Logger): Promise<StageResult> {
    const S = this.o.numShards;
    const stage = p.stage;
    const { specs, layout } = planStage(config, stage, S);
    const dir = stageDir(config.checkpoint.uri, p.run, stage);

    let latest = await readLatest(this.o.store, dir);
    this.deliveries = new StageDeliveries(this.o.store, config, stage);
    const tokenizer = await this.checkTokenizer(config, latest ? { kind: 'resume', ...latest } : { kind: 'init', init: p.init }, log);
    if (latest) {
      log.info({ step: latest.manifest.step, from: latest.stepDir }, 'resuming from the latest checkpoint');
    } else {
      const start = await stageStartWeights(config, stage, p.init, this.o.store, log);
      log.info({ init: p.init ?? 'seeded', loaded: start.report.loaded, fresh: start.report.fresh.length, dropped: start.report.dropped.length }, 'stage initialised');
      await this.writeFullCheckpoint(p, config, specs, layout, start.flat, 0, dir, tokenizer);
      latest = await readLatest(this.o.store, dir);
    }

    let restartedAt: number | null = null;
    for (;;) {
      try {
        this.deliveries.resumeFrom(latest!.manifest);
        return await this.runEpoch(p, config, specs, layout, dir, latest!.stepDir, latest!.manifest.step, tokenizer, log, restartedAt);
      } catch (err) {
        if (!(err instanceof EpochRestart)) throw err;
        restartedAt = Date.now();
        log.warn({ reason: err.message }, 'restarting the stage from the latest checkpoint');
        await recordRunError(this.o.redis, p.run, { stage, source: 'coordinator', message: `${err.message}: restarting from the latest checkpoint` });
        latest = await readLatest(this.o.store, dir);
      }
    }
  }

  /**
   * data.tokenizer against the model and the starting weights (stage-tokenizer.ts), before
   * anything is loaded or queued. A wrong tokenizer is the user's to fix: no retry.
   */
  private async checkTokenizer(config: RunConfig, start: StageStart, log: Logger): Promise<TokenizerIdentity> {
    try {
      const { identity, unknown } = await stageTokenizer(config, start, this.o.store);
      if (unknown) log.warn({ checkpoint: unknown }, 'the starting checkpoint records no tokenizer (written before fiber recorded it): cannot check that data.tokenizer is the one it was trained with');
      log.info({ tokenizer: identity.location, sha256: identity.sha256, vocabSize: identity.vocabSize }, 'tokenizer');
      return identity;
    } catch (err) {
      if (isFiberError(err) && err.kind === 'usage') throw new UnrecoverableError(err.message);
      throw err;
    }
  }

  private async runEpoch(p: StageJobPayload, config: RunConfig, specs: readonly ServerParamSpec[], layout: ShardLayout, dir: string, loadFrom: string, startStep: number, tokenizer: TokenizerIdentity, log: Logger, restartedAt: number | null): Promise<StageResult> {
    const S = this.o.numShards;
    const stage: StageName = p.stage;
    const T = config.batch[stage].tasksPerStep;
    const total = config.optimizer[stage].totalSteps;
    const waitMs = this.o.waitTimeoutMs ?? 600_000;
    const signal = this.abort.signal;

    const shards = await pollUntil(async () => {
      const s = await readShards(this.o.redis, S);
      return s.every((x) => x !== null) ? s.map((x) => x!) : undefined;
    }, { intervalMs: 100, timeoutMs: waitMs, what: `waiting for ${S} parameter-server shards to register`, signal });
    // Epoch ids are unique across runs and stages (they name Redis keys); the per-stage count is for people.
    const [[, seq]] = (await this.o.redis.multi().incr(psKeys.epochSeq).incr(psKeys.epochCounter(p.run, stage)).exec()) as [[null, number], [null, number]];
    const epoch = String(seq);
    const active: ActiveStage = { epoch, run: p.run, stage, configHash: p.configHash, config, numShards: S, loadFrom, startStep, shardLives: shards.map((s) => s.startedAt), tokenizer };
    await this.setControl(psKeys.active, JSON.stringify(active));
    log.info({ epoch, startStep, shards: shards.map((s) => `${s.host}:${s.port}`) }, 'stage active');

    const checkLives = () => this.assertShardsAlive(active);
    await pollUntil(async () => {
      await checkLives();
      const ready = await hashNumbers(this.o.redis, psKeys.ready(epoch));
      return ready.size === S ? true : undefined;
    }, { intervalMs: 20, timeoutMs: waitMs, what: 'waiting for the shards to load the stage', signal });

    let emaLoss: Record<string, number> = {};
    let emaRate: number | null = null;
    const every = config.checkpoint.everySteps;
    const staleness = config.batch[stage].staleness;
    const checkpointAfter = (u: number) => (u + 1) % every === 0 || u + 1 === total;
    // Steps whose tasks are queued: [startStep, queued). With staleness s, step u is queued up to
    // s steps early and computed on version max(startStep, u - s), but never across a checkpoint
    // (a shard writes version c only if no push for step c can arrive first), nor while a cancel
    // or preemption drains the pipeline. s = 0 queues exactly one step at a time.
    let queued = startStep;
    let draining: 'cancel' | 'preempt' | null = null;
    for (let v = startStep; v < total; v++) {
      if (draining !== 'cancel' && await this.cancelled(p.run)) draining = 'cancel';
      if (draining === 'cancel' && queued === v) {
        await this.checkpoint(p, config, specs, layout, dir, active, v, false, log);
        await this.o.lease?.assertHeld();
        await this.registry.transition(p.run, stage, ['running'], 'cancelled', { finishedAt: new Date().toISOString(), step: String(v) });
        log.warn({ step: v }, 'run cancelled: stopped at a step boundary after a checkpoint');
        return { checkpoint: joinUrl(dir, stepDirName(v)), step: v, cancelled: true };
      }
      const t0 = Date.now();
      // The first step after a restart carries the restart's time as time lost to failures.
      const restartMs = restartedAt !== null && v === startStep ? t0 - restartedAt : 0;
      while (!draining && queued < total && queued <= v + staleness && (queued === v || !checkpointAfter(queued - 1))) {
        await this.queueStep(p.run, stage, epoch, queued, Math.max(startStep, queued - staleness), T);
        queued++;
      }
      await pollUntil(async () => {
        await checkLives();
        const versions = await hashNumbers(this.o.redis, psKeys.version(epoch));
        return versions.size === S && [...versions.values()].every((x) => x >= v + 1) ? true : undefined;
      }, { intervalMs: 5, timeoutMs: waitMs, what: `waiting for step ${v} to be applied`, signal });
      const appliedAt = Date.now();
      const { results, timings, lastTaskAt } = await this.collect(p.run, stage, epoch, v, T, t0);
      const delivery = await this.deliveries!.commit(v);
      const seconds = (Date.now() - t0) / 1000;
      const samples = results.reduce((n, r) => n + r.samples, 0);
      const rate = samples / Math.max(seconds, 1e-3);
      emaRate = emaRate === null ? rate : 0.9 * emaRate + 0.1 * rate;
      const losses = meanLosses(results);
      emaLoss = Object.fromEntries(Object.entries(losses).map(([k, x]) => [k, emaLoss[k] === undefined ? x : 0.9 * emaLoss[k]! + 0.1 * x]));
      const collectedAt = Date.now();
      if (!draining && (await this.o.redis.get(psKeys.preempt(epoch))) !== null) draining = 'preempt';
      const drained = queued === v + 1;
      let checkpointMs = 0;
      const checkpointed = checkpointAfter(v) || (draining === 'preempt' && drained);
      if (checkpointed) {
        const c0 = Date.now();
        await this.checkpoint(p, config, specs, layout, dir, active, v + 1, v + 1 === total, log);
        checkpointMs = Date.now() - c0;
        if (draining === 'preempt') {
          await this.o.redis.del(psKeys.preempt(epoch));
          draining = null;
        }
      }
      // Reported after the checkpoint, so the step's time breakdown includes it.
      const time = splitStepTime({ appliedMs: appliedAt - t0, lastTaskMs: lastTaskAt === null ? null : lastTaskAt - t0, stepMs: collectedAt - t0, checkpointMs, restartMs }, timings);
      await this.report(p.run, stage, v + 1, config, emaLoss, losses, emaRate, results, seconds, time, delivery);
      // After the report: the step's own metrics entry (written after its checkpoint, for the
      // checkpoint's time) belongs in the history chunk of that checkpoint.
      if (checkpointed) await appendHistoryQuietly(this.o.store, this.o.redis, p.run, stage, dir, v + 1, log);
    }
    const finalDir = joinUrl(dir, stepDirName(total));
    await this.o.lease?.assertHeld();
    await this.registry.transition(p.run, stage, ['running'], 'completed', { finishedAt: new Date().toISOString(), checkpoint: finalDir, error: '' });
    await promoteWaitingStage(this.registry, this.stageQueue, p.run);
    log.info({ checkpoint: finalDir }, 'stage completed');
    return { checkpoint: finalDir, step: total, cancelled: false };
  }

  /** Queue step `step`'s T gradient tasks, computed on version `basis`, with deterministic ids. */
  private async queueStep(run: string, stage: StageName, epoch: string, step: number, basis: number, T: number): Promise<void> {
    await this.o.lease?.assertHeld();
    await this.tasks.addBulk(Array.from({ length: T }, (_, task) => ({
      name: `${stage}-step`,
      data: { version: 1 as const, run, stage, epoch, step, task, basis },
      opts: { jobId: taskJobId(run, stage, epoch, step, task), attempts: this.o.taskAttempts ?? 20, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: { age: 3600, count: 50_000 }, removeOnFail: { age: 7 * 86400 } },
    })));
  }

  /** A shard whose process changed since the epoch began lost its state: restart the epoch. */
  private async assertShardsAlive(active: ActiveStage): Promise<void> {
    const now = await readShards(this.o.redis, active.numShards);
    now.forEach((s, i) => {
      if (s && s.startedAt !== active.shardLives[i]) throw new EpochRestart(`shard ${i} restarted`);
    });
  }

  private async cancelled(run: string): Promise<boolean> {
    return (await this.o.redis.hget(registryKeys.run(run), 'cancelledAt')) !== null;
  }

  /**
   * Every task's result for step v (a retried task that found the step applied has none), with
   * its timings for the goodput split and when the last of them finished (worker clock).
   */
  private async collect(run: string, stage: string, epoch: string, step: number, T: number, stepStartedAt: number): Promise<{ results: TaskResult[]; timings: TaskTiming[]; lastTaskAt: number | null }> {
    const ids = Array.from({ length: T }, (_, t) => taskJobId(run, stage, epoch, step, t));
    return pollUntil(async () => {
      const jobs = await Promise.all(ids.map((id) => this.tasks.getJob(id)));
      const done = jobs.filter((j) => j?.returnvalue);
      if (done.length !== T) return undefined;
      const parsed = done.map((j) => ({ job: j!, r: parseTaskResult(j!.returnvalue) })).filter(({ r }) => r.pushed !== 'stale');
      const finished = done.map((j) => j!.finishedOn ?? 0).filter((x) => x > 0);
      return {
        results: parsed.map(({ r }) => r),
        timings: parsed.map(({ job, r }) => taskTiming(job, r, stepStartedAt)),
        lastTaskAt: finished.length > 0 ? Math.max(...finished) : null,
      };
    }, { intervalMs: 5, timeoutMs: 30_000, what: `collecting the results of step ${step}` }).catch((err: Error) => {
      // The step is applied either way; only its progress report goes without losses.
      this.o.log.warn({ run, stage, step, err: err.message }, 'task results missing; progress for this step has no losses');
      void recordRunError(this.o.redis, run, { stage, source: 'coordinator', message: `step ${step}: task results missing (${err.message}); the step is applied, its losses are not reported` });
      return { results: [] as TaskResult[], timings: [] as TaskTiming[], lastTaskAt: null };
    });
  }

  private async report(run: string, stage: StageName, step: number, config: RunConfig, ema: Record<string, number>, raw: Record<string, number>, rate: number, results: TaskResult[], seconds: number, time: StepTime, delivery: StepDelivery): Promise<void> {
    const opt = config.optimizer[stage];
    const fields: Record<string, string> = { step: String(step), samplesPerSec: rate.toFixed(3), lr: String(opt.lr * lrFactor(step - 1, opt)) };
    for (const [k, v] of Object.entries(ema)) fields[`loss.${k}`] = String(v);
    const m = this.o.redis.multi().hset(registryKeys.stage(run, stage), fields);
    for (const r of results) for (const [reason, n] of Object.entries(r.skipped)) if (n > 0) m.hincrby(registryKeys.stage(run, stage), `skipped.${reason}`, n);
    addStageTime(m, run, stage, time);
    m.rpush(metricsKey(run, stage), JSON.stringify({ step, t: Date.now(), seconds, samples: results.reduce((n, r) => n + r.samples, 0), losses: raw, lr: Number(fields.lr), time, delivery: delivery.parts }));
    await m.exec();
    try {
      this.o.onStep?.({ run, stage, step, totalSteps: opt.totalSteps, losses: ema, lr: Number(fields.lr), samplesPerSec: rate, samples: results.reduce((n, r) => n + r.samples, 0), time });
    } catch (err) {
      // Metrics are for watching the run; a failure there must not fail the stage.
      this.o.log.warn({ run, stage, step, err: (err as Error).message }, 'step report hook failed');
    }
  }

  /** Ask every shard for its file at `step`, then write the manifest and move `latest`. */
  private async checkpoint(p: StageJobPayload, config: RunConfig, specs: readonly ServerParamSpec[], layout: ShardLayout, dir: string, active: ActiveStage, step: number, final: boolean, log: Logger): Promise<void> {
    const epoch = active.epoch;
    const started = Date.now();
    const name = stepDirName(step);
    const stepDir = joinUrl(dir, name);
    const req: SaveRequest = { step, stepDir };
    await this.setControl(psKeys.save(epoch), JSON.stringify(req), 86400);
    const files = await pollUntil(async () => {
      await this.assertShardsAlive(active);
      const saved = await savedFiles(this.o.redis, epoch, step);
      return saved.size === layout.numShards ? [...saved.values()].sort((a, b) => a.shard - b.shard) : undefined;
    }, { intervalMs: 10, timeoutMs: this.o.waitTimeoutMs ?? 600_000, what: `waiting for the shards to write checkpoint ${name}`, signal: this.abort.signal });
    let model: CheckpointFile | null = null;
    if (final) {
      const partial = this.manifest(p, config, specs, layout, step, files, null, active.tokenizer);
      const flat = (await loadFlatRange(this.o.store, stepDir, partial, 0, layout.totalElements)).params;
      model = await writeModelFile(this.o.store, stepDir, specs, flat, layout.tensorStarts);
    }
    await this.o.lease?.assertHeld();
    await commitCheckpoint(this.o.store, dir, name, this.manifest(p, config, specs, layout, step, files, model, active.tokenizer));
    await this.queueEval(p, config, step, stepDir, final);
    await this.prune(dir, config);
    log.info({ step, dir: stepDir, ms: Date.now() - started }, 'checkpoint written');
  }

  /**
   * eval.everySteps: a worker evaluates this checkpoint on the held-out shards beside training
   * (prioritised below gradient tasks, so it only takes a worker that has nothing else to do).
   */
  private async queueEval(p: StageJobPayload, config: RunConfig, step: number, stepDir: string, final: boolean): Promise<void> {
    const e = config.eval;
    const data = p.stage === 'coarse' ? e.coarseShards : e.fineShards;
    if (e.everySteps === 0 || data.length === 0 || step === 0 || (step % e.everySteps !== 0 && !final)) return;
    const payload: EvalJobPayload = { version: 1, run: p.run, stage: p.stage, step, checkpoint: stepDir, task: p.stage === 'coarse' ? 'retrieval' : 'grounding', data, limit: e.limit };
    await this.evals.add(EVAL_JOB_NAME, payload, { jobId: evalJobId(p.run, p.stage, step), priority: 10, attempts: 2, removeOnComplete: { age: 86400 }, removeOnFail: { age: 7 * 86400 } });
  }

  private async writeFullCheckpoint(p: StageJobPayload, config: RunConfig, specs: readonly ServerParamSpec[], layout: ShardLayout, flat: Float32Array, step: number, dir: string, tokenizer: TokenizerIdentity): Promise<void> {
    const name = stepDirName(step);
    const stepDir = joinUrl(dir, name);
    const files: CheckpointFile[] = [];
    for (let s = 0; s < layout.numShards; s++) {
      const lo = layout.shardStarts[s]!;
      const hi = layout.shardStarts[s + 1]!;
      const zeros = new Float32Array(hi - lo);
      files.push(await writeShardFile(this.o.store, stepDir, specs, layout, s, { params: flat.subarray(lo, hi), expAvg: zeros, expAvgSq: zeros }, step));
    }
    await commitCheckpoint(this.o.store, dir, name, this.manifest(p, config, specs, layout, step, files, null, tokenizer));
  }

  private manifest(p: StageJobPayload, config: RunConfig, specs: readonly ServerParamSpec[], layout: ShardLayout, step: number, files: CheckpointFile[], model: CheckpointFile | null, tokenizer: TokenizerIdentity): CheckpointManifest {
    return {
      format: CHECKPOINT_FORMAT, run: p.run, stage: p.stage, step, configHash: p.configHash, config, numShards: layout.numShards,
      totalElements: layout.totalElements, params: specs.map((s) => ({ name: s.name, shape: s.shape })), files, model,
      dataCursor: { nextStep: step }, seeds: { seed: config.seed }, init: p.init, tokenizer,
      ...(this.deliveries ? { ledger: this.deliveries.ledger } : {}), createdAt: new Date().toISOString(),
    };
  }

  /**
   * Keep the newest `keepLast` step directories (the one just committed among them); older ones
   * go only after a newer checkpoint is complete, so a crash mid-prune never leaves none.
   */
  private async prune(dir: string, config: RunConfig): Promise<void> {
    const steps = (await this.o.store.list(dir)).filter((n) => /^step-\d{8}$/.test(n)).sort();
    for (const old of steps.slice(0, Math.max(0, steps.length - config.checkpoint.keepLast))) {
      await this.o.store.remove(joinUrl(dir, old));
    }
  }
}

/** Mean loss per objective over the samples of a step. */
export function meanLosses(results: readonly TaskResult[]): Record<string, number> {
  const n = results.reduce((a, r) => a + r.samples, 0);
  const out: Record<string, number> = {};
  if (n === 0) return out;
  // A NaN loss arrives as null (JSON): it adds 0, as it always has.
  for (const r of results) for (const [k, v] of Object.entries(r.lossSums)) out[k] = (out[k] ?? 0) + (v ?? 0);
  for (const k of Object.keys(out)) out[k]! /= n;
  return out;
}

