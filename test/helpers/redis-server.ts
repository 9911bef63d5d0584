import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** A client for assertions (DBSIZE, KEYS, ...). */
  readonly client: Redis;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A free TCP port on loopback, chosen by the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A real redis-server on a free port, no persistence, in a temp dir, with the eviction policy
 * BullMQ needs. Tests talk to it exactly as users talk to theirs.
 */
export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'fiber-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--maxmemory-policy', 'noeviction', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = await waitReady(proc);
    if (!ready) {
      proc.kill('SIGKILL');
      if (attempt < 3) continue; // lost the port to someone else between probe and bind
      throw new Error('redis-server did not start (is it installed? apt-get install -y redis-server)');
    }
    const url = `redis://127.0.0.1:${port}`;
    const pw = extraArgs.indexOf('--requirepass');
    const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, ...(pw >= 0 ? { password: extraArgs[pw + 1] } : {}) });
    return {
      url, port, client,
      flush: async () => { await client.flushall(); },
      close: async () => {
        client.disconnect();
        proc.kill('SIGTERM');
        await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

function waitReady(proc: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(false), 10_000);
    const done = (ok: boolean) => { clearTimeout(timer); resolve(ok); };
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) done(true);
    });
    proc.once('exit', () => done(false));
    proc.once('error', () => done(false));
  });
}

/** Every key in the server with its type: a cheap "was anything written?" fingerprint. */
export async function snapshotKeys(client: Redis): Promise<string[]> {
  return (await client.keys('*')).sort();
}
