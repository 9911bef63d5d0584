import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startEmbeddedRedis } from '../../src/demo/embedded-redis.js';

export { freePort };

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** A client for assertions (DBSIZE, KEYS, ...). */
  readonly client: Redis;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real redis-server on a free port, no persistence, in a temp dir, with the eviction policy
 * BullMQ needs (the same launcher `fiber demo` uses). Tests talk to it exactly as users talk to theirs.
 */
export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'fiber-redis-'));
  const server = await startEmbeddedRedis(dir, extraArgs);
  const pw = extraArgs.indexOf('--requirepass');
  const client = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true, ...(pw >= 0 ? { password: extraArgs[pw + 1] } : {}) });
  return {
    url: server.url, port: server.port, client,
    flush: async () => { await client.flushall(); },
    close: async () => {
      client.disconnect();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every key in the server with its type: a cheap "was anything written?" fingerprint. */
export async function snapshotKeys(client: Redis): Promise<string[]> {
  return (await client.keys('*')).sort();
}
