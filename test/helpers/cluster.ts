import { spawn, type ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { FIBER_BIN, REPO_ROOT } from './cli.js';

export const TEST_PS_TOKEN = 'test-token-0123456789abcdef';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Start `fiber <args>` as a real child process, as Kubernetes would. */
export function startFiber(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [FIBER_BIN, ...args], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FIBER_PS_TOKEN: TEST_PS_TOKEN, FIBER_LOG_LEVEL: 'info', FIBER_METRICS_PORT: '0', ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    name, child,
    output: () => out,
    kill: (signal = 'SIGTERM') => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    }),
  };
}

export interface Cluster {
  readonly shards: Proc[];
  readonly workers: Proc[];
  startShard(i: number): Proc;
  startWorker(id: string, extra?: string[]): Proc;
  stop(): Promise<void>;
  logs(): string;
}

/** S shards and W workers against one Redis. */
export function startCluster(redisUrl: string, S: number, W: number, env: Record<string, string> = {}): Cluster {
  const base = { FIBER_REDIS_URL: redisUrl, ...env };
  const shards: Proc[] = [];
  const workers: Proc[] = [];
  const cluster: Cluster = {
    shards, workers,
    startShard: (i) => {
      const p = startFiber(`ps-${i}`, ['ps', '--shard', String(i), '--shards', String(S), '--port', '0', '--bind', '127.0.0.1', '--advertise-host', '127.0.0.1'], base);
      shards[i] = p;
      return p;
    },
    startWorker: (id, extra = []) => {
      const p = startFiber(id, ['worker', '--id', id, ...extra], base);
      workers.push(p);
      return p;
    },
    stop: async () => { await Promise.all([...shards, ...workers].map((p) => p.kill('SIGKILL'))); },
    logs: () => [...shards, ...workers].map((p) => `--- ${p.name}\n${p.output().slice(-4000)}`).join('\n'),
  };
  for (let i = 0; i < S; i++) cluster.startShard(i);
  for (let w = 0; w < W; w++) cluster.startWorker(`w${w}`);
  return cluster;
}

/** Wait until a stage reaches a terminal state; returns the stage record's fields. */
export async function waitForStage(redis: Redis, run: string, stage: string, timeoutMs: number, onTick?: () => Promise<void>): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await redis.hgetall(`fiber:registry:run:${run}:stage:${stage}`);
    if (h.state === 'completed' || h.state === 'failed' || h.state === 'cancelled') return h;
    if (Date.now() > deadline) throw new Error(`stage ${run}/${stage} still ${h.state ?? 'absent'} after ${timeoutMs} ms (step ${h.step ?? '-'})`);
    await onTick?.();
    await new Promise((r) => setTimeout(r, 200));
  }
}
