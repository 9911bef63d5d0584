import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { freePort } from '../../src/demo/embedded-redis.js';

/**
 * A redis-server persisted as the k8s manifest configures it (AOF, fsync every second) on a fixed
 * port and data dir, so it can be stopped and started again at the same address: a restart (the
 * data comes back from the AOF) or a loss (`wipe()` first, and it comes back empty).
 */
export interface PersistentRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** A client for assertions; it reconnects across restarts. */
  readonly client: Redis;
  /** Stop the server (SIGTERM: a clean shutdown that fsyncs the AOF; SIGKILL: a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and dir. */
  start(): Promise<void>;
  /** Delete the data dir: everything Redis held is gone. Only while stopped. */
  wipe(): void;
  close(): Promise<void>;
}

export async function startPersistentRedis(dir: string): Promise<PersistentRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const start = async () => {
    mkdirSync(dir, { recursive: true });
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'everysec', '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`redis-server exited ${String(code)}: ${out.slice(-500)}`)));
    });
  };
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => new Promise<void>((resolve) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill(signal);
  });
  await start();
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  client.on('error', () => {}); // it is down on purpose during restarts
  return {
    url, port, dir, client, stop, start,
    wipe: () => rmSync(dir, { recursive: true, force: true }),
    close: async () => {
      client.disconnect();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
