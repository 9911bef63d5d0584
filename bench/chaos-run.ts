import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../src/data/pipeline/rng.js';
import { packShapesDataset } from '../src/data/packing/pack-shapes.js';
import { ChildServices } from '../src/demo/child-services.js';
import { createObjectStore, type ObjectStore } from '../src/storage/object-store.js';
import { DEFAULT_RETRY } from '../src/storage/retry.js';
import { s3ConfigFromEnv } from '../src/storage/s3-config.js';
import { joinUrl } from '../src/storage/url.js';
import { runFiber } from '../test/helpers/cli.js';
import { TEST_PS_TOKEN } from '../test/helpers/cluster.js';
import { startPersistentRedis, type PersistentRedis } from '../test/helpers/persistent-redis.js';
import { startS3FaultProxy, type S3FaultProxy } from '../test/helpers/s3-fault-proxy.js';
import { startS3Server, type S3TestServer } from '../test/helpers/s3-server.js';

/**
 * bench/chaos's engine, shared with its short version in the suite (test/bench/chaos-run.test.ts):
 * one coarse stage of fiber-tiny on W workers and S shards (processes supervised by the demo's
 * ChildServices), a local redis-server with AOF everysec, file checkpoints every step; with chaos,
 * a seeded driver that every few seconds SIGKILLs a worker or a shard other than 0 (the supervisor
 * restarts it) or restarts Redis.
 */
export interface ChaosConfig {
  readonly root: string;
  readonly steps: number;
  readonly workers: number;
  readonly shards: number;
  readonly seed: number;
  /** Seconds between faults. */
  readonly everySeconds: number;
  /** Stop injecting after this many faults. */
  readonly maxFaults: number;
  /** The kinds of fault to draw from (default: all). */
  readonly kinds?: readonly FaultKind[];
  /** checkpoint.everySteps (default 1): what a killed shard's restart redoes at most. */
  readonly checkpointEvery?: number;
}

export type FaultKind = 'kill-worker' | 'kill-shard' | 'restart-redis' | 's3-errors';

export const FAULT_KINDS: readonly FaultKind[] = ['kill-worker', 'kill-shard', 'restart-redis', 's3-errors'];

/**
 * Where the data and checkpoints live: a directory, or a local S3 server (s3rver) that the services
 * reach through a fault-injecting proxy (test/helpers/s3-fault-proxy.ts), so an 's3-errors' fault
 * can fail their requests while the bench's own reads go straight to the server.
 */
export interface ChaosStorage {
  readonly kind: 'file' | 's3';
  /** The store the bench itself reads and writes with (never through the proxy). */
  readonly store: ObjectStore;
  /** Prefix of the data and checkpoints: a directory or s3://bucket. */
  readonly root: string;
  /** Env for the services and the CLI (the proxy's endpoint and the server's credentials). */
  readonly env: Record<string, string>;
  readonly proxy: S3FaultProxy | null;
  close(): Promise<void>;
}

export async function openChaosStorage(root: string, kind: 'file' | 's3'): Promise<ChaosStorage> {
  if (kind === 'file') {
    const store = createObjectStore();
    return { kind, store, root, env: {}, proxy: null, close: () => store.close() };
  }
  const server: S3TestServer = await startS3Server();
  const proxy = await startS3FaultProxy(server.endpoint);
  const store = createObjectStore({ s3: { ...s3ConfigFromEnv({ FIBER_S3_ENDPOINT: server.endpoint }), credentials: server.credentials }, retry: DEFAULT_RETRY });
  return {
    kind, store, root: `s3://${server.bucket}`, env: { ...server.env, FIBER_S3_ENDPOINT: proxy.endpoint }, proxy,
    close: async () => {
      await store.close();
      await proxy.close();
      await server.close();
    },
  };
}

/**
 * One 's3-errors' fault: the next S3 requests of the services fail as S3 and networks fail: two
 * PUTs answered 500, the next one cut half-way through its body, two GETs answered 503 SlowDown
 * and one reset after its headers. Each request that fails is retried by fiber's own policy
 * (5 attempts), so the burst stays within what a single request survives.
 */
function injectS3Errors(proxy: S3FaultProxy): void {
  proxy.inject(
    { method: 'PUT', fault: 'internal', times: 2 }, { method: 'PUT', fault: { cutUpload: 64 }, times: 1 },
    { method: 'GET', fault: 'slowdown', times: 2 }, { method: 'GET', fault: 'reset', times: 1 },
  );
}

export interface Fault {
  readonly kind: FaultKind;
  readonly victim: string;
  /** Seconds since the stage was submitted. */
  readonly at: number;
  /** The stage's committed step when it struck. */
  readonly step: number;
  /** Seconds until the stage committed a step past `step` (null: it never did, the stage ended first). */
  recoveredAfter: number | null;
}

export interface RunResult {
  readonly name: string;
  readonly state: string;
  readonly sha256: string;
  readonly seconds: number;
  /** Median wall time of a step from the metrics history (seconds). */
  readonly medianStep: number;
  /** Sum of compute over sum of wall over every recorded step (docs/status.md "Goodput"). */
  readonly goodput: number;
  readonly faults: readonly Fault[];
  readonly ledger: { ok: boolean; samples: number; expected: number; missing: number; duplicated: number; otherProblems: number; idsVerified: boolean };
  readonly restarts: Record<string, number>;
}

/** The shapes dataset (64 px) as coarse shards; returns their pattern. */
export async function prepareChaosData(storage: ChaosStorage): Promise<string> {
  const packed = await packShapesDataset(storage.store, { out: joinUrl(storage.root, 'data'), count: 128, seed: 7, samplesPerShard: 32 });
  return packed.coarse!.pattern;
}

const GLOBAL_BATCH = 4;

export async function trainWithChaos(c: ChaosConfig, storage: ChaosStorage, shards: string, name: string, chaos: boolean): Promise<RunResult> {
  const redis = await startPersistentRedis(join(c.root, `redis-${name}`));
  const logDir = join(c.root, `logs-${name}`);
  mkdirSync(logDir, { recursive: true });
  const ckpt = joinUrl(storage.root, 'ckpt');
  const env = { ...process.env, ...storage.env, FIBER_REDIS_URL: redis.url, FIBER_PS_TOKEN: TEST_PS_TOKEN, FIBER_TASK_LOCK_MS: '4000', FIBER_METRICS_PORT: '0' };
  const services = new ChildServices(logDir, env);
  const faults: Fault[] = [];
  try {
    for (let i = 0; i < c.shards; i++) services.start(`ps-${i}`, ['ps', '--shard', String(i), '--shards', String(c.shards), '--port', '0', '--bind', '127.0.0.1', '--advertise-host', '127.0.0.1']);
    for (let i = 0; i < c.workers; i++) services.start(`worker-${i}`, ['worker', '--id', `worker-${i}`]);
    const sets = [
      `data.coarse.shards=${shards}`, `optimizer.coarse.totalSteps=${c.steps}`, `batch.coarse.globalBatch=${GLOBAL_BATCH}`,
      'batch.coarse.microBatch=2', 'batch.coarse.tasksPerStep=2', `checkpoint.uri=${ckpt}`, `checkpoint.everySteps=${c.checkpointEvery ?? 1}`, 'optimizer.coarse.gradClipNorm=1',
    ].flatMap((s) => ['--set', s]);
    const t0 = Date.now();
    const sub = await runFiber(['pretrain', '--stage', 'coarse', '--preset', 'fiber-tiny', '--run', name, ...sets], { ...storage.env, FIBER_REDIS_URL: redis.url });
    if (sub.code !== 0) throw new Error(`fiber pretrain exited ${String(sub.code)}: ${sub.stderr}`);
    const rng = createRng(c.seed);
    let nextFault = t0 + c.everySeconds * 1000;
    let state = '';
    let checkpoint = '';
    let lastStep = -1;
    let lastStepAt = Date.now();
    for (;;) {
      const h = await redis.client.hgetall(`fiber:registry:run:${name}:stage:coarse`);
      state = h.state ?? '';
      checkpoint = h.checkpoint ?? '';
      const step = Number(h.step ?? 0);
      const now = Date.now();
      for (const f of faults) if (f.recoveredAfter === null && step > f.step) f.recoveredAfter = (now - t0) / 1000 - f.at;
      if (state === 'completed' || state === 'failed' || state === 'cancelled') break;
      if (step !== lastStep) [lastStep, lastStepAt] = [step, now];
      // A stage that commits nothing for 3 min is stuck (a step takes seconds): say so, with the faults so far.
      if (now - lastStepAt > 180_000) throw new Error(`${name} stuck at step ${step} for 180 s after faults ${JSON.stringify(faults)}; logs in ${logDir}`);
      // One fault at a time: a tick while a victim is still down, or before the last fault healed, passes.
      const healing = services.services.some((s) => s.exited !== null) || faults.some((f) => f.recoveredAfter === null);
      if (chaos && faults.length < c.maxFaults && now >= nextFault && !healing && h.step !== undefined) {
        nextFault = now + c.everySeconds * 1000;
        const r = rng.next();
        const kinds = new Set(c.kinds ?? FAULT_KINDS);
        const victims = [
          ...services.services.filter((s) => s.name !== 'ps-0' && kinds.has(s.name.startsWith('ps') ? 'kill-shard' : 'kill-worker')).map((s) => s.name),
          ...(kinds.has('restart-redis') ? ['redis'] : []),
          ...(kinds.has('s3-errors') && storage.proxy ? ['s3'] : []),
        ];
        const victim = victims[Math.floor(r * victims.length)]!;
        const at = (now - t0) / 1000;
        if (victim === 'redis') {
          await restartRedis(redis);
          faults.push({ kind: 'restart-redis', victim, at, step, recoveredAfter: null });
        } else if (victim === 's3') {
          injectS3Errors(storage.proxy!);
          faults.push({ kind: 's3-errors', victim, at, step, recoveredAfter: null });
        } else if (services.kill(victim)) {
          faults.push({ kind: victim.startsWith('ps') ? 'kill-shard' : 'kill-worker', victim, at, step, recoveredAfter: null });
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (Date.now() - t0) / 1000;
    if (state !== 'completed') throw new Error(`${name} ended ${state}; logs in ${logDir}`);
    const sha256 = (JSON.parse((await storage.store.read(joinUrl(checkpoint, 'manifest.json'))).toString('utf8')) as { model: { sha256: string } }).model.sha256;
    // The audit reads past the proxy: what it proves is about what was stored, not about the faults.
    const audit = await runFiber(['ledger', name, '--checkpoints', ckpt, '--verify', '--json'], storage.proxy ? { ...storage.env, FIBER_S3_ENDPOINT: storage.proxy.target } : {}, { timeoutMs: 120_000 });
    const report = JSON.parse(audit.stdout) as { ok: boolean; stages: Array<{ samples: number; idsVerified: boolean; checkpoints: Array<{ problems: Array<{ kind: string }> }> }> };
    const stage = report.stages[0]!;
    const problems = stage.checkpoints.flatMap((x) => x.problems);
    const count = (k: string) => problems.filter((p) => p.kind === k).length;
    const { medianStep, goodput } = await stepTimes(storage.store, joinUrl(ckpt, name, 'coarse', 'history'));
    return {
      name, state, sha256, seconds, medianStep, goodput, faults, restarts: services.restarts(),
      ledger: { ok: report.ok && audit.code === 0, samples: stage.samples, expected: c.steps * GLOBAL_BATCH, missing: count('missing'), duplicated: count('duplicated'),
        otherProblems: problems.length - count('missing') - count('duplicated'), idsVerified: stage.idsVerified },
    };
  } finally {
    await services.stop();
    await redis.close();
  }
}

/** SIGTERM (Redis fsyncs its AOF on the way out), a second down, then back on the same port and data. */
async function restartRedis(redis: PersistentRedis): Promise<void> {
  await redis.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  await redis.start();
}

/** Median step wall time and goodput from the stage's metrics history beside its checkpoints. */
async function stepTimes(store: ObjectStore, dir: string): Promise<{ medianStep: number; goodput: number }> {
  const names = (await store.list(dir)).filter((n) => n.startsWith('metrics-')).sort();
  const texts = await Promise.all(names.map(async (n) => (await store.read(joinUrl(dir, n))).toString('utf8')));
  const lines = texts.flatMap((t) => t.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { time?: { wall: number; compute: number } }));
  const walls = lines.map((l) => l.time?.wall ?? NaN).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const compute = lines.reduce((s, l) => s + (l.time?.compute ?? 0), 0);
  const wall = walls.reduce((s, x) => s + x, 0);
  return { medianStep: walls[Math.floor(walls.length / 2)] ?? NaN, goodput: wall > 0 ? compute / wall : NaN };
}
