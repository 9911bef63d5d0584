import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Which process owns the registry; it becomes the `process` label on every series. */
export type MetricsProcess = 'ps' | 'worker' | 'pretrain' | 'demo';

export interface FiberMetricsConfig {
  readonly process: MetricsProcess;
  /** Extra labels on every series, e.g. `{ shard: '2' }` or `{ worker: 'fiber-worker-abc' }`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Add Node's process metrics (CPU, memory, event-loop lag, GC) with the `fiber_node_` prefix. @defaultValue true */
  readonly nodeMetrics?: boolean;
  /** Version reported by fiber_build_info. @defaultValue '0.0.0' */
  readonly version?: string;
}

/** One applied step as the coordinator reports it (the fields the training gauges need). */
export interface TrainingStep {
  readonly run: string;
  readonly stage: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly losses: Readonly<Record<string, number>>;
  readonly lr: number;
  readonly samplesPerSec: number;
  /** Seconds by cause (compute, data, pull, ...) and `wall`, which they sum to. */
  readonly time: Readonly<Record<string, number>>;
}

/** Buckets in seconds for operations from a few ms (a cached pull) to minutes (a fiber-base step on CPU). */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Checkpoints of fiber-base shards to S3 take seconds to minutes. */
const CHECKPOINT_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];

/**
 * fiber's Prometheus metrics, one registry per process (never prom-client's global one, so two
 * components in one test process cannot collide). Names follow Prometheus conventions: base
 * units (seconds, bytes), `_total` on counters.
 *
 * Who records what:
 * - PS shard 0 (coordinator): `stepDuration`, `samplesPerSecond`, `samplesTotal`, `queueDepth`, and per run
 *   and stage `trainStep`, `trainLoss`, `trainLearningRate`, `trainSamplesPerSecond`, `goodput`,
 *   `stepTimeSeconds` (recordTrainingStep), `workers` (setWorkers).
 * - worker: `evalScore` (recordEval) after an in-training evaluation.
 * - every PS shard: `checkpointDuration`, `pushBytes`/`pullBytes` (bytes received/sent).
 * - worker: `taskDuration`, `pushBytes`/`pushDuration`, `pullBytes`/`pullDuration`, `skippedSamples`.
 * - both: `lastHeartbeat` through the health server's `heartbeat()`.
 *
 * Usage: `metrics.stepDuration.observe({ stage: 'coarse' }, seconds)`, or
 * `const end = metrics.taskDuration.startTimer({ stage }); ...; end({ outcome: 'ok' })`.
 */
export class FiberMetrics {
  readonly registry: Registry;
  /** Wall time of one optimizer step, from adding its tasks to the new version (seconds). */
  readonly stepDuration: Histogram<'stage'>;
  /** Global-batch samples per second over the last step. */
  readonly samplesPerSecond: Gauge<'stage'>;
  /** Samples consumed by applied steps. */
  readonly samplesTotal: Counter<'stage'>;
  /** Gradient bytes pushed (worker: sent; PS: received), by PS shard. */
  readonly pushBytes: Counter<'shard'>;
  /** Parameter bytes pulled (worker: received; PS: sent), by PS shard. */
  readonly pullBytes: Counter<'shard'>;
  /** Latency of one push to one shard (seconds). */
  readonly pushDuration: Histogram<'shard'>;
  /** Latency of one pull from one shard (seconds). */
  readonly pullDuration: Histogram<'shard'>;
  /** BullMQ jobs by queue and state (waiting, active, delayed, failed), sampled by the coordinator. */
  readonly queueDepth: Gauge<'queue' | 'state'>;
  /** Samples skipped as bad input, by reason (corrupt-tar, undecodable-image, missing-caption, bad-boxes...). */
  readonly skippedSamples: Counter<'stage' | 'reason'>;
  /** Time to write one shard's checkpoint, tensors and manifest (seconds). */
  readonly checkpointDuration: Histogram<'stage'>;
  /** Time a worker spent on one gradient task, by outcome (ok, failed, retried) (seconds). */
  readonly taskDuration: Histogram<'stage' | 'outcome'>;
  /** Unix time (seconds) of the main loop's last heartbeat. */
  readonly lastHeartbeat: Gauge;
  /** Last applied step of a run's stage (coordinator). */
  readonly trainStep: Gauge<'run' | 'stage'>;
  /** The stage's optimizer.totalSteps: `fiber_train_step < fiber_train_total_steps` means unfinished. */
  readonly trainTotalSteps: Gauge<'run' | 'stage'>;
  /** Smoothed loss by objective (itc, itm, mlm; focal, giou, centerness; total). */
  readonly trainLoss: Gauge<'run' | 'stage' | 'objective'>;
  readonly trainLearningRate: Gauge<'run' | 'stage'>;
  /** Smoothed global-batch samples per second. */
  readonly trainSamplesPerSecond: Gauge<'run' | 'stage'>;
  /** Compute ÷ wall time of the last step (docs/status.md, "Goodput"). */
  readonly goodput: Gauge<'run' | 'stage'>;
  /** Step wall time by cause; `sum by (run, stage)` is the wall time, `rate(...{cause="compute"}) / rate(sum)` goodput over a window. */
  readonly stepTimeSeconds: Counter<'run' | 'stage' | 'cause'>;
  /** Latest in-training evaluation score (fraction), by task and metric (worker that evaluated). */
  readonly evalScore: Gauge<'run' | 'stage' | 'task' | 'metric'>;
  /** Workers by heartbeat state (idle, busy, draining, stopped, lost), sampled by the coordinator. */
  readonly workers: Gauge<'state'>;
  /** Constant 1, labelled with the version; joins other series to a release. */
  readonly buildInfo: Gauge<'version'>;

  private closed = false;

  constructor(config: FiberMetricsConfig) {
    this.registry = new Registry();
    this.registry.setDefaultLabels({ process: config.process, ...config.labels });
    const registers = [this.registry];

    this.stepDuration = new Histogram({ name: 'fiber_step_duration_seconds', help: 'Wall time of one optimizer step', labelNames: ['stage'], buckets: SECONDS_BUCKETS, registers });
    this.samplesPerSecond = new Gauge({ name: 'fiber_samples_per_second', help: 'Global-batch samples per second over the last step', labelNames: ['stage'], registers });
    this.samplesTotal = new Counter({ name: 'fiber_samples_total', help: 'Samples consumed by applied steps', labelNames: ['stage'], registers });
    this.pushBytes = new Counter({ name: 'fiber_push_bytes_total', help: 'Gradient bytes pushed to (worker) or received by (PS) a parameter-server shard', labelNames: ['shard'], registers });
    this.pullBytes = new Counter({ name: 'fiber_pull_bytes_total', help: 'Parameter bytes pulled from (worker) or sent by (PS) a parameter-server shard', labelNames: ['shard'], registers });
    this.pushDuration = new Histogram({ name: 'fiber_push_duration_seconds', help: 'Latency of one gradient push to one shard', labelNames: ['shard'], buckets: SECONDS_BUCKETS, registers });
    this.pullDuration = new Histogram({ name: 'fiber_pull_duration_seconds', help: 'Latency of one parameter pull from one shard', labelNames: ['shard'], buckets: SECONDS_BUCKETS, registers });
    this.queueDepth = new Gauge({ name: 'fiber_queue_depth', help: 'BullMQ jobs by queue and state', labelNames: ['queue', 'state'], registers });
    this.skippedSamples = new Counter({ name: 'fiber_skipped_samples_total', help: 'Samples skipped as bad input, by reason', labelNames: ['stage', 'reason'], registers });
    this.checkpointDuration = new Histogram({ name: 'fiber_checkpoint_duration_seconds', help: 'Time to write one shard checkpoint', labelNames: ['stage'], buckets: CHECKPOINT_BUCKETS, registers });
    this.taskDuration = new Histogram({ name: 'fiber_task_duration_seconds', help: 'Time a worker spent on one gradient task', labelNames: ['stage', 'outcome'], buckets: SECONDS_BUCKETS, registers });
    this.lastHeartbeat = new Gauge({ name: 'fiber_last_heartbeat_timestamp_seconds', help: 'Unix time of the main loop\'s last heartbeat', registers });
    this.trainStep = new Gauge({ name: 'fiber_train_step', help: 'Last applied optimizer step of a run stage', labelNames: ['run', 'stage'], registers });
    this.trainTotalSteps = new Gauge({ name: 'fiber_train_total_steps', help: 'Optimizer steps the run stage will take', labelNames: ['run', 'stage'], registers });
    this.trainLoss = new Gauge({ name: 'fiber_train_loss', help: 'Smoothed training loss by objective', labelNames: ['run', 'stage', 'objective'], registers });
    this.trainLearningRate = new Gauge({ name: 'fiber_train_learning_rate', help: 'Base learning rate at the last step', labelNames: ['run', 'stage'], registers });
    this.trainSamplesPerSecond = new Gauge({ name: 'fiber_train_samples_per_second', help: 'Smoothed global-batch samples per second', labelNames: ['run', 'stage'], registers });
    this.goodput = new Gauge({ name: 'fiber_goodput_ratio', help: 'Compute time over wall time of the last step', labelNames: ['run', 'stage'], registers });
    this.stepTimeSeconds = new Counter({ name: 'fiber_step_time_seconds_total', help: 'Step wall time by cause (compute, data, pull, push, straggler, optimizer, checkpoint, failures, other)', labelNames: ['run', 'stage', 'cause'], registers });
    this.evalScore = new Gauge({ name: 'fiber_eval_score', help: 'Latest in-training evaluation score (fraction)', labelNames: ['run', 'stage', 'task', 'metric'], registers });
    this.workers = new Gauge({ name: 'fiber_workers', help: 'Workers by heartbeat state', labelNames: ['state'], registers });
    this.buildInfo = new Gauge({ name: 'fiber_build_info', help: 'Constant 1, labelled with the fiber version', labelNames: ['version'], registers });
    this.buildInfo.set({ version: config.version ?? '0.0.0' }, 1);

    // prom-client >= 13 collects these on scrape, with no timer to stop.
    if (config.nodeMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'fiber_node_' });
  }

  /**
   * Record one applied optimizer step: its duration, the samples it consumed and the resulting
   * samples per second, so the three series always agree.
   */
  observeStep(stage: string, step: { readonly durationSeconds: number; readonly samples: number }): void {
    if (!(step.durationSeconds >= 0) || !(step.samples >= 0)) {
      throw new RangeError(`observeStep: durationSeconds and samples must be >= 0, got ${step.durationSeconds} and ${step.samples}`);
    }
    this.stepDuration.observe({ stage }, step.durationSeconds);
    this.samplesTotal.inc({ stage }, step.samples);
    if (step.durationSeconds > 0) this.samplesPerSecond.set({ stage }, step.samples / step.durationSeconds);
  }

  /** The coordinator's per-step gauges: step, losses, LR, throughput, goodput and time by cause. */
  recordTrainingStep(r: TrainingStep): void {
    const l = { run: r.run, stage: r.stage };
    this.trainStep.set(l, r.step);
    this.trainTotalSteps.set(l, r.totalSteps);
    this.trainLearningRate.set(l, r.lr);
    this.trainSamplesPerSecond.set(l, r.samplesPerSec);
    for (const [objective, v] of Object.entries(r.losses)) if (Number.isFinite(v)) this.trainLoss.set({ ...l, objective }, v);
    const wall = r.time.wall ?? 0;
    if (wall > 0) this.goodput.set(l, (r.time.compute ?? 0) / wall);
    for (const [cause, v] of Object.entries(r.time)) if (cause !== 'wall' && cause !== 'workers' && v > 0) this.stepTimeSeconds.inc({ ...l, cause }, v);
  }

  /** An in-training evaluation's scores (fractions). */
  recordEval(run: string, stage: string, task: string, scores: Readonly<Record<string, number>>): void {
    for (const [metric, v] of Object.entries(scores)) if (Number.isFinite(v)) this.evalScore.set({ run, stage, task, metric }, v);
  }

  /** Replace `fiber_workers` with these counts by state (states now absent go to 0). */
  setWorkers(byState: Readonly<Record<string, number>>): void {
    this.workers.reset();
    for (const state of ['idle', 'busy', 'draining', 'stopped', 'lost', 'starting']) this.workers.set({ state }, byState[state] ?? 0);
    for (const [state, n] of Object.entries(byState)) this.workers.set({ state }, n);
  }

  /**
   * Set `fiber_queue_depth` for one queue from BullMQ's `queue.getJobCounts()` result
   * (`{ waiting, active, delayed, failed, ... }`); states absent from `counts` keep their value.
   */
  setQueueDepth(queue: string, counts: Readonly<Record<string, number>>): void {
    for (const [state, n] of Object.entries(counts)) this.queueDepth.set({ queue, state }, n);
  }

  /** Prometheus text exposition of every series. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Drop every series. Idempotent: later calls do nothing. Recording after close is a no-op for scrapes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.registry.clear();
  }
}

/** One registry for this process: `createFiberMetrics({ process: 'worker', labels: { worker: id } })`. */
export function createFiberMetrics(config: FiberMetricsConfig): FiberMetrics {
  return new FiberMetrics(config);
}
