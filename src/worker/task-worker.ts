import { hostname } from 'node:os';
import { Worker as Thread } from 'node:worker_threads';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { FiberError, isFiberError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { QUEUE_PREFIX, TASKS_QUEUE, WORKERS_KEY } from '../queue/keys.js';
import { recordRunError } from '../queue/run-errors.js';
import { ShardClient } from '../ps/shard-client.js';
import { planStage } from '../stage/plan-stage.js';
import type { ShardLayout } from '../stage/shard-layout.js';
import { readActiveStage, readShards, type ActiveStage, type ShardRecord } from '../queue/ps-control.js';
import { parseTaskJob, type TaskJobPayload, type TaskResult } from '../queue/task-job.js';
import { EVAL_JOB_NAME, parseEvalJob, recordEval } from '../queue/eval-job.js';
import type { WorkerRecord } from '../queue/worker-record.js';
import { parseJobData } from '../queue/job-data.js';
import { ComputeClient } from './compute-client.js';
import type { EvalResult } from '../eval/eval-result.js';
import { logQueueErrors } from '../queue/log-queue-errors.js';
import { RepeatLimiter } from '../log/repeat-limiter.js';

export interface TaskWorkerOptions {
  readonly id: string;
  readonly token: string;
  readonly redis: Redis;
  /** BullMQ's blocking connection. */
  readonly workerRedis: Redis;
  readonly log: Logger;
  /** Job lock; renewed every half of it while the compute thread works. @defaultValue 30000 */
  readonly lockDurationMs?: number;
  /** How often stalled tasks (a worker killed mid-task) are looked for. @defaultValue 30000 */
  readonly stalledIntervalMs?: number;
  /** How long a pull waits for the shards to reach the task's version. @defaultValue 600000 */
  readonly pullTimeoutMs?: number;
}


interface Connected {
  /** run/stage/epoch the connections and layout belong to. */
  readonly key: string;
  readonly lives: readonly string[];
  readonly clients: ShardClient[];
  readonly layout: ShardLayout;
}

/**
 * A gradient worker: takes task (v, t), pulls version v from every shard (once per version),
 * has the compute thread produce the task's summed gradient, pushes each shard its slice, and
 * returns the losses for the coordinator's progress report. A retried task pushes the same bits,
 * which the shards count once.
 */
export class TaskWorker {
  private worker: Worker<unknown, TaskResult | EvalResult> | null = null;
  private readonly compute = new ComputeClient();
  private conn: Connected | null = null;
  private version: { key: string; step: number } | null = null;
  private tasksDone = 0;
  private state: WorkerRecord['state'] = 'starting';
  private current: string | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  /** Called on every heartbeat, e.g. to feed the liveness probe. */
  onHeartbeat: () => void = () => {};
  /** Called after each task, for metrics. */
  onTaskDone: (stage: string, seconds: number, outcome: 'ok' | 'stale' | 'error', skipped: Readonly<Record<string, number>>) => void = () => {};
  /** Called after each in-training evaluation is recorded, for metrics. */
  onEvalDone: (run: string, stage: string, task: string, scores: Readonly<Record<string, number>>) => void = () => {};

  constructor(private readonly o: TaskWorkerOptions) {}

  start(): void {
    this.worker = new Worker<unknown, TaskResult | EvalResult>(TASKS_QUEUE, (job) => (job.name === EVAL_JOB_NAME ? this.evaluate(job) : this.process(job)), {
      connection: this.o.workerRedis, prefix: QUEUE_PREFIX, concurrency: 1,
      lockDuration: this.o.lockDurationMs ?? 30_000, stalledInterval: this.o.stalledIntervalMs ?? 30_000, maxStalledCount: 100,
    });
    logQueueErrors(this.worker, new RepeatLimiter(this.o.log, 60_000), 'task worker');
    this.state = 'idle';
    void this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), 2000);
  }

  /** SIGTERM: finish the task in hand, take no new one, then stop. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'draining';
      await this.heartbeat();
      await this.worker?.close();
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.state = 'stopped';
      await this.heartbeat();
      await Promise.allSettled([this.compute.close(), ...(this.conn?.clients.map((c) => c.close()) ?? [])]);
    })();
    return this.closing;
  }

  private async heartbeat(): Promise<void> {
    const record: WorkerRecord = {
      id: this.o.id, host: hostname(), pid: process.pid, backend: this.compute.backend, state: this.state,
      task: this.current, tasksDone: this.tasksDone, lastHeartbeat: new Date().toISOString(),
    };
    try {
      await this.o.redis.hset(WORKERS_KEY, this.o.id, JSON.stringify(record));
      this.onHeartbeat();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'worker heartbeat failed');
    }
  }

  private async process(job: Job<unknown>): Promise<TaskResult> {
    const p = parseJobData(parseTaskJob, job.data);
    const log = this.o.log.child({ run: p.run, stage: p.stage, step: p.step, task: p.task, job: job.id });
    this.state = 'busy';
    this.current = `${p.run}/${p.stage} step ${p.step} task ${p.task}`;
    void this.heartbeat();
    const started = performance.now();
    let outcome: 'ok' | 'stale' | 'error' = 'error';
    let skipped: Readonly<Record<string, number>> = {};
    try {
      const active = await readActiveStage(this.o.redis);
      if (!active || active.run !== p.run || active.stage !== p.stage) {
        // The stage is over (or another one runs): this task's step was applied or abandoned.
        return this.result('stale', 0);
      }
      if (active.epoch !== p.epoch) {
        // The stage restarted from a checkpoint: the new epoch queued its own tasks for every step
        // from there. Running this one would pull a version the new epoch reaches only through
        // the workers, which this task would hold waiting (both workers of a chaos run once did).
        log.info({ epoch: p.epoch, active: active.epoch }, 'task of a superseded epoch: nothing to do');
        return this.result('stale', 0);
      }
      const conn = await this.connect(active);
      await this.compute.ensureStage(`${active.run}/${active.stage}/${active.configHash}`, active.config, active.stage);
      const versionKey = `${active.run}/${active.stage}/${active.configHash}`;
      const basis = p.basis ?? p.step;
      let params: Float32Array | null = null;
      const pullStarted = performance.now();
      if (this.version?.key !== versionKey || this.version.step !== basis) {
        const pulled = await this.pull(conn, p, basis, log);
        if (!pulled) return this.result('stale', 0);
        params = pulled;
      }
      const pullMs = performance.now() - pullStarted;
      const out = await this.compute.run(p.step, p.task, basis, params);
      this.version = { key: versionKey, step: basis };
      const pushStarted = performance.now();
      const statuses = await Promise.all(conn.clients.map((c, s) =>
        c.push(p.run, p.stage, p.step, p.task, out.samples, out.grad.subarray(conn.layout.shardStarts[s], conn.layout.shardStarts[s + 1]))));
      const pushMs = performance.now() - pushStarted;
      // Every shard has its slice (a retry of this task recomputes it): the buffer can be reused.
      this.compute.recycle(out.grad);
      const pushed = statuses.includes('accepted') ? 'accepted' : statuses.includes('duplicate') ? 'duplicate' : 'stale';
      this.tasksDone++;
      outcome = pushed === 'stale' ? 'stale' : 'ok';
      skipped = out.skipped;
      log.debug({ samples: out.samples, ms: Math.round(out.computeMs), pushed }, 'task done');
      return {
        samples: out.samples, lossSums: out.lossSums, skipped: out.skipped, worker: this.o.id, backend: this.compute.backend, computeMs: out.computeMs, pushed,
        timings: { pullMs, dataMs: out.dataMs, computeMs: Math.max(0, out.computeMs - out.dataMs), pushMs, totalMs: performance.now() - started },
      };
    } catch (err) {
      log.warn({ err: (err as Error).message, attempt: job.attemptsMade + 1 }, 'task failed; it will be retried');
      await recordRunError(this.o.redis, p.run, { stage: p.stage, source: `worker ${this.o.id}`, message: `step ${p.step} task ${p.task} attempt ${job.attemptsMade + 1}: ${(err as Error).message}` });
      if (isFiberError(err) && err.kind === 'usage') throw new UnrecoverableError(err.message);
      if (isFiberError(err) && err.code.startsWith('fiber.ps.')) this.dropConnections();
      throw err;
    } finally {
      this.state = this.closing ? 'draining' : 'idle';
      this.current = null;
      this.onTaskDone(p.stage, (performance.now() - started) / 1000, outcome, skipped);
    }
  }

  /**
   * An in-training evaluation of a checkpoint, in its own thread (like compute, so locks and
   * heartbeats continue); the scores go to the stage's status and evals list.
   */
  private async evaluate(job: Job<unknown>): Promise<EvalResult> {
    const p = parseJobData(parseEvalJob, job.data);
    const log = this.o.log.child({ run: p.run, stage: p.stage, step: p.step, job: job.id });
    this.state = 'busy';
    this.current = `${p.run}/${p.stage} eval ${p.task} @${p.step}`;
    void this.heartbeat();
    try {
      const thread = new Thread(new URL('./eval-thread.js', import.meta.url), { workerData: p, env: process.env });
      const reply = await new Promise<{ ok: true; result: EvalResult } | { ok: false; message: string }>((resolve, reject) => {
        thread.once('message', resolve);
        thread.once('error', reject);
        thread.once('exit', (code) => reject(new Error(`eval thread exited with code ${code}`)));
      });
      await thread.terminate();
      if (!reply.ok) throw new Error(reply.message);
      await recordEval(this.o.redis, p, reply.result);
      this.onEvalDone(p.run, p.stage, p.task, reply.result.scores);
      log.info({ task: p.task, n: reply.result.n, scores: reply.result.scores, seconds: reply.result.seconds }, 'evaluation recorded');
      return reply.result;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'evaluation failed');
      await recordRunError(this.o.redis, p.run, { stage: p.stage, source: `worker ${this.o.id}`, message: `eval of step ${p.step}: ${(err as Error).message}` });
      throw err;
    } finally {
      this.state = this.closing ? 'draining' : 'idle';
      this.current = null;
    }
  }

  private result(pushed: TaskResult['pushed'], samples: number): TaskResult {
    return { samples, lossSums: {}, skipped: {}, worker: this.o.id, backend: this.compute.backend, computeMs: 0, pushed };
  }

  /** Version `basis` from every shard, laid end to end; null if that version is gone. */
  private async pull(conn: Connected, p: TaskJobPayload, basis: number, log: Logger): Promise<Float32Array | null> {
    const flat = this.compute.paramBuffer(conn.layout.totalElements);
    try {
      await Promise.all(conn.clients.map((c, s) =>
        c.pull(p.run, p.stage, basis, this.o.pullTimeoutMs ?? 600_000, flat.subarray(conn.layout.shardStarts[s], conn.layout.shardStarts[s + 1]))));
      return flat;
    } catch (err) {
      if (err instanceof FiberError && err.code === 'fiber.ps.stale_version') {
        log.info('step already applied (a retry of a counted task): nothing to do');
        return null;
      }
      throw err;
    }
  }

  private async connect(active: ActiveStage): Promise<Connected> {
    const shards = await readShards(this.o.redis, active.numShards);
    const lives = shards.map((s) => s?.startedAt ?? '');
    const key = `${active.run}/${active.stage}/${active.epoch}`;
    if (this.conn && this.conn.key === key && lives.every((l, i) => l === this.conn!.lives[i])) return this.conn;
    this.dropConnections();
    if (shards.some((s) => s === null)) throw new FiberError('fiber.ps.unreachable', 'runtime', 'not every parameter-server shard is registered');
    const { layout } = planStage(active.config, active.stage, active.numShards);
    const clients = await Promise.all((shards as ShardRecord[]).map((s) => ShardClient.connect({ shard: s.shard, host: s.host, port: s.port }, this.o.token)));
    this.conn = { key, lives, clients, layout };
    this.version = null;
    return this.conn;
  }

  private dropConnections(): void {
    for (const c of this.conn?.clients ?? []) void c.close();
    this.conn = null;
    this.version = null;
  }
}
