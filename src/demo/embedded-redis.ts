import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { FiberError } from '../errors/index.js';

/** A redis-server this process started; `close()` stops it (idempotent). */
export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  close(): Promise<void>;
}

/** A free TCP port on loopback, chosen by the OS. */
export function freePort(): Promise<number> {
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

const INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or point FIBER_REDIS_URL at a Redis you run';

/**
 * Start `redis-server` on a free loopback port with no persistence and the eviction policy BullMQ
 * needs, its working files in `dir`. Retries a few times when another process takes the probed
 * port first. A missing binary is a clear FiberError (code fiber.demo.no_redis).
 */
export async function startEmbeddedRedis(dir: string, extraArgs: readonly string[] = []): Promise<EmbeddedRedis> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--maxmemory-policy', 'noeviction', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const outcome = await waitReady(proc);
    if (outcome === 'missing') throw new FiberError('fiber.demo.no_redis', 'usage', `redis-server was not found on PATH: ${INSTALL_HINT}`);
    if (outcome !== 'ready') {
      proc.kill('SIGKILL');
      if (attempt < 3) continue;
      throw new FiberError('fiber.demo.redis_start', 'runtime', `redis-server did not start: ${outcome}`);
    }
    let closing: Promise<void> | null = null;
    return {
      url: `redis://127.0.0.1:${port}`, port, pid: proc.pid!,
      close: () => (closing ??= new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      })),
    };
  }
}

function waitReady(proc: ChildProcess): Promise<'ready' | 'missing' | string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(`no "Ready to accept connections" within 10 s: ${out.slice(-300)}`), 10_000);
    const done = (v: string) => { clearTimeout(timer); resolve(v); };
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) done('ready');
    });
    proc.once('exit', (code) => done(`exited with code ${String(code)}: ${out.slice(-300)}`));
    proc.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? 'missing' : err.message));
  });
}
