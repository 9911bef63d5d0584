import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { configHash, resolveRunConfig, type RunConfig, type StageName } from '../config/index.js';
import { createObjectStore, type ObjectStore } from '../storage/object-store.js';
import { s3ConfigFromEnv } from '../storage/s3-config.js';
import { DEFAULT_RETRY } from '../storage/retry.js';
import { FiberError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { readManifest } from '../ps/checkpoint-io.js';
import { joinUrl } from '../storage/url.js';
import { collectStatus, type StatusSources } from '../queue/collect-status.js';
import { connectRedis } from '../queue/redis-connection.js';
import { RunRegistry } from '../queue/run-registry.js';
import { openStageQueue, openTaskQueue } from '../queue/stage-queue.js';
import type { StatusReport } from '../queue/status-report.js';
import { submitStage } from '../queue/submit-stage.js';
import { registryKeys } from '../queue/keys.js';
import { goodput, sumStepTimes } from '../queue/step-time.js';
import { collectRunMetrics } from '../report/collect-run-metrics.js';
import type { StepMetric } from '../report/metric-lines.js';
import { ChildServices } from './child-services.js';
import { Chaos } from './chaos.js';
import type { DemoOptions } from './demo-options.js';
import type { DemoStageSummary, DemoSummary } from './demo-summary.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import { prepareDemoData, type DemoData } from './demo-data.js';
import { evaluateDemo } from './evaluate-demo.js';

/** What the demo tells its caller while it runs (the CLI draws progress from these). */
export interface DemoEvents {
  phase(message: string): void;
  progress(report: StatusReport): void;
  /** A child died and is being restarted, or chaos killed one. */
  incident?(message: string): void;
}

const STAGES: readonly StageName[] = ['coarse', 'fine'];

/**
 * `fiber demo`: a whole pretraining run on one machine. Starts Redis (or uses FIBER_REDIS_URL),
 * S parameter-server shards and W workers as child processes, prepares a dataset, runs the coarse
 * then the fine stage of fiber-tiny exactly as on a cluster, evaluates both stages' final weights
 * against their starting weights, writes the report, and stops everything it started, also when
 * `signal` aborts (Ctrl-C) or a child keeps dying. A child that dies is restarted (child-services.ts)
 * and the run goes on, bit-identical; `chaos` kills children on purpose to show it.
 */
export async function runDemo(o: DemoOptions, events: DemoEvents, log: Logger, signal: AbortSignal): Promise<DemoSummary> {
  const started = Date.now();
  const out = resolve(o.out);
  const logs = join(out, 'logs');
  await mkdir(logs, { recursive: true });
  const store = createObjectStore({ s3: s3ConfigFromEnv(process.env), retry: DEFAULT_RETRY });
  let redisServer: EmbeddedRedis | null = null;
  let children: ChildServices | null = null;
  let chaos: Chaos | null = null;
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    let redisUrl = process.env.FIBER_REDIS_URL;
    if (!redisUrl) {
      events.phase('starting redis-server');
      const dir = join(out, 'redis');
      await mkdir(dir, { recursive: true });
      redisServer = await startEmbeddedRedis(dir);
      redisUrl = redisServer.url;
    }
    const { redis } = await connectRedis({ url: redisUrl, ...(process.env.FIBER_REDIS_PASSWORD ? { password: process.env.FIBER_REDIS_PASSWORD } : {}), connectTimeoutMs: 5000, reconnect: false }, log);
    cleanup.push(async () => redis.disconnect());
    const stageQueue = openStageQueue(redis);
    const taskQueue = openTaskQueue(redis, true);
    cleanup.push(() => stageQueue.close(), () => taskQueue.close());

    events.phase(o.data ? `reading the dataset at ${o.data}` : `generating ${o.trainImages} training and ${o.evalImages} held-out scenes`);
    const data = await prepareDemoData(store, o, out);
    throwIfAborted(signal);

    const run = `demo-${Date.now().toString(36)}`;
    const config = demoConfig(o, data, join(out, 'checkpoints'));
    const hash = configHash(config);

    events.phase(`starting ${o.shards} parameter-server shard(s) and ${o.workers} worker(s); logs in ${logs}`);
    children = new ChildServices(logs, {
      ...process.env, FIBER_REDIS_URL: redisUrl, FIBER_PS_TOKEN: randomBytes(24).toString('hex'), FIBER_METRICS_PORT: '0',
    });
    for (let i = 0; i < o.shards; i++) children.start(`ps-${i}`, ['ps', '--shard', String(i), '--shards', String(o.shards), '--port', '0', '--bind', '127.0.0.1', '--advertise-host', '127.0.0.1']);
    // A short task lock: a killed worker's task is redone within seconds (the bits do not depend on it).
    for (let w = 0; w < o.workers; w++) children.start(`worker-${w}`, ['worker', '--id', `demo-worker-${w}`, '--lock-ms', String(DEMO_TASK_LOCK_MS)]);
    if (o.chaos) {
      events.phase(`chaos: killing a random worker or shard (not ps-0) every ${o.chaos.everySeconds} s (seed ${o.chaos.seed})`);
      chaos = new Chaos(children, o.chaos, (k) => events.incident?.(`chaos: killed ${k.name} at ${k.at} s`));
    }

    const registry = new RunRegistry(redis);
    for (const stage of STAGES) {
      await submitStage(registry, stageQueue, { run, stage, config, configHash: hash, init: null, now: new Date() });
    }
    events.phase(`run ${run}: coarse (${o.coarseSteps} steps), then fine (${o.fineSteps} steps)`);
    const sources: StatusSources = { registry, stageQueue, taskQueue, redis: { url: 'embedded', version: '' } };
    const report = await follow(sources, run, children, events, signal);
    for (const s of report.runs[0]?.stages ?? []) {
      if (s.state !== 'completed') throw new FiberError('fiber.demo.stage', 'runtime', `the ${s.stage} stage ended ${s.state}${s.error ? `: ${s.error}` : ''} (logs: ${logs})`);
    }
    // The final checkpoints' in-training evaluations may still be running on a worker.
    await waitForEvals(redis, run, config, signal);
    chaos?.stop();
    await children.stop();

    const metrics = await collectRunMetrics(redis, run);
    const stages = await Promise.all(STAGES.map((stage) => stageSummary(store, metrics[stage].steps, report, stage)));
    events.phase('evaluating: retrieval (coarse) and grounding (fine), trained vs starting weights');
    const evals = await evaluateDemo(store, data, stages.map((s) => s.checkpoint!), signal);
    throwIfAborted(signal);

    events.phase('writing the report');
    const { writeReport } = await import('../report/write-report.js');
    const written = await writeReport(redis, run, join(out, 'report'));
    return {
      run, workers: o.workers, shards: o.shards, seed: o.seed,
      data: { train: data.train, eval: data.eval, generated: data.generated },
      stages, evals, report: { html: written.html, pngs: written.pngs }, logs, seconds: (Date.now() - started) / 1000,
      restarts: children.restarts(), chaos: chaos ? { everySeconds: o.chaos!.everySeconds, seed: o.chaos!.seed, kills: chaos.kills } : null,
    };
  } finally {
    chaos?.stop();
    await children?.stop();
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await redisServer?.close();
    await store.close();
  }
}

/** fiber-tiny with the demo's data, steps, checkpoints and seed; everything else is the preset's. */
export function demoConfig(o: DemoOptions, data: DemoData, checkpoints: string): RunConfig {
  const every = Math.max(1, Math.ceil(Math.max(o.coarseSteps, o.fineSteps) / 4));
  return resolveRunConfig({
    preset: 'fiber-tiny',
    file: {
      data: { coarse: { shards: [...data.coarseShards] }, fine: { shards: [...data.fineShards] } },
      // Workers evaluate every checkpoint on the held-out scenes while training goes on.
      eval: { everySteps: every, coarseShards: [...data.evalCoarseShards], fineShards: [...data.evalFineShards], limit: 64 },
    },
    sets: [
      `seed=${o.seed}`,
      // 2 tasks of one 8-sample micro-batch: ITC contrasts 8 captions at a time (the preset's 4 is weak).
      'batch.coarse.microBatch=8',
      `optimizer.coarse.totalSteps=${o.coarseSteps}`, `optimizer.fine.totalSteps=${o.fineSteps}`,
      `optimizer.fine.warmupSteps=${Math.max(1, Math.min(20, Math.floor(o.fineSteps / 10)))}`,
      `checkpoint.uri=${checkpoints}`, `checkpoint.everySteps=${every}`,
      // Step 0 of each stage is evaluated as the "untrained" baseline: keep every checkpoint.
      'checkpoint.keepLast=10',
    ],
  });
}

/** Workers' task lock in the demo: how soon a killed worker's task is taken again. */
const DEMO_TASK_LOCK_MS = 5000;

/** Poll the run until both stages are terminal; a child in a crash loop or Ctrl-C ends it early. */
async function follow(sources: StatusSources, run: string, children: ChildServices, events: DemoEvents, signal: AbortSignal): Promise<StatusReport> {
  const reported = new Set<string>();
  for (;;) {
    throwIfAborted(signal);
    const dead = children.crashed();
    if (dead.length > 0) {
      throw new FiberError('fiber.demo.child', 'runtime', `${dead.map((d) => `${d.name} keeps exiting (${d.exited}) soon after each restart`).join(', ')}; see ${dead.map((d) => d.logFile).join(', ')}`);
    }
    for (const s of children.services) {
      if (s.exited !== null && !reported.has(`${s.name}:${s.restarts}`)) {
        reported.add(`${s.name}:${s.restarts}`);
        events.incident?.(`${s.name} exited (${s.exited}); restarting it (restart ${s.restarts + 1})`);
      }
    }
    const report = await collectStatus(sources, run, new Date());
    events.progress(report);
    const stages = report.runs[0]?.stages ?? [];
    if (stages.length === STAGES.length && stages.every((s) => s.state === 'completed' || s.state === 'failed' || s.state === 'cancelled')) return report;
    if (stages.some((s) => s.state === 'failed' || s.state === 'cancelled')) return report;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stageSummary(store: ObjectStore, metrics: readonly StepMetric[], report: StatusReport, stage: StageName): Promise<DemoStageSummary> {
  const s = report.runs[0]!.stages.find((x) => x.stage === stage)!;
  const mean = (xs: readonly StepMetric[]) => (xs.length ? xs.reduce((a, m) => a + (m.losses.total ?? NaN), 0) / xs.length : null);
  const seconds = metrics.reduce((a, m) => a + m.seconds, 0);
  const samples = metrics.reduce((a, m) => a + m.samples, 0);
  const time = sumStepTimes(metrics.flatMap((m) => (m.time ? [m.time] : [])));
  const manifest = s.checkpoint ? await readManifest(store, s.checkpoint) : null;
  return {
    stage, state: s.state, steps: s.step ?? 0,
    lossFirst: mean(metrics.slice(0, 10)), lossLast: mean(metrics.slice(-10)),
    samplesPerSec: seconds > 0 ? samples / seconds : null,
    goodput: time.wall > 0 ? goodput(time) : null,
    time: time.wall > 0 ? time : null,
    seconds: s.startedAt && s.finishedAt ? (Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000 : seconds,
    checkpoint: s.checkpoint,
    modelFile: manifest?.model ? joinUrl(s.checkpoint!, manifest.model.name) : null,
    modelSha256: manifest?.model?.sha256 ?? null,
  };
}

/** Until each stage's final checkpoint has its evaluation recorded (bounded: it is only for the report). */
async function waitForEvals(redis: import('ioredis').Redis, run: string, config: RunConfig, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (const stage of STAGES) {
    const total = config.optimizer[stage].totalSteps;
    while (Date.now() < deadline && !signal.aborted && Number(await redis.hget(registryKeys.stage(run, stage), 'eval.step') ?? -1) < total) {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new FiberError('fiber.demo.interrupted', 'runtime', 'interrupted: stopping everything the demo started');
}
