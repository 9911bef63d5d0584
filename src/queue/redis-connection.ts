import { Redis, type RedisOptions } from 'ioredis';
import { ConnectionError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { redactUrl } from '../log/redact.js';

export interface RedisConfig {
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS. @defaultValue redis://127.0.0.1:6379 */
  readonly url: string;
  /** Overrides the URL's password (FIBER_REDIS_PASSWORD, from a k8s Secret). Never logged. */
  readonly password?: string;
  /** Give up on the first connection after this long. @defaultValue 5000 */
  readonly connectTimeoutMs: number;
  /**
   * Services (ps, worker) reconnect forever with backoff; one-shot commands fail fast so a
   * wrong URL is an error within connectTimeoutMs, not a hang.
   */
  readonly reconnect: boolean;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Redis FIBER_* settings from the environment; the only place that reads them. */
export function redisConfigFromEnv(env: NodeJS.ProcessEnv, flagUrl?: string): Pick<RedisConfig, 'url' | 'password'> {
  const password = env.FIBER_REDIS_PASSWORD;
  return { url: flagUrl ?? env.FIBER_REDIS_URL ?? DEFAULT_REDIS_URL, ...(password ? { password } : {}) };
}

export interface ServerCheck {
  readonly version: string;
  readonly maxmemoryPolicy: string;
  readonly warnings: readonly string[];
}

/**
 * Connect and check the server: BullMQ needs Redis >= 5 (we warn below 6.2, which lacks the
 * commands newer BullMQ prefers) and loses jobs under any eviction policy but noeviction.
 * Rejects with ConnectionError (code fiber.redis.unreachable) within connectTimeoutMs.
 */
export async function connectRedis(config: RedisConfig, log?: Logger): Promise<{ redis: Redis; check: ServerCheck }> {
  const safeUrl = redactUrl(config.url);
  let options: RedisOptions;
  try {
    new URL(config.url);
    options = {
      lazyConnect: true,
      connectTimeout: config.connectTimeoutMs,
      // BullMQ workers require null here; one-shot commands never queue commands offline anyway.
      maxRetriesPerRequest: null,
      enableOfflineQueue: config.reconnect,
      retryStrategy: config.reconnect ? (times) => Math.min(200 * 2 ** Math.min(times, 6), 10_000) : () => null,
      ...(config.password ? { password: config.password } : {}),
    };
  } catch {
    throw new ConnectionError(`--redis-url / FIBER_REDIS_URL "${safeUrl}" is not a URL; expected redis://host:port`, 'fiber.redis.url', {}, undefined, 'usage');
  }
  const redis = new Redis(config.url, options);
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
    log?.debug({ err: err.message, url: safeUrl }, 'redis connection error');
  });
  const timeout = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${config.connectTimeoutMs} ms`)), config.connectTimeoutMs);
    t.unref();
  });
  try {
    await Promise.race([redis.connect(), timeout]);
  } catch (err) {
    redis.disconnect();
    const reason = lastError?.message ?? (err as Error).message;
    if (/NOAUTH|WRONGPASS/.test(reason)) {
      throw new ConnectionError(`Redis at ${safeUrl} refused the credentials (${reason.split(' ')[0]}); set the password in FIBER_REDIS_PASSWORD or the URL`,
        'fiber.redis.auth', { url: safeUrl }, { cause: err }, 'usage');
    }
    throw new ConnectionError(
      `cannot reach Redis at ${safeUrl} (${reason}); start redis-server or point --redis-url / FIBER_REDIS_URL at one`,
      'fiber.redis.unreachable', { url: safeUrl }, { cause: err }, 'unavailable');
  }
  try {
    const check = await checkServer(redis);
    for (const warning of check.warnings) log?.warn({ url: safeUrl, redisVersion: check.version }, warning);
    return { redis, check };
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}

async function checkServer(redis: Redis): Promise<ServerCheck> {
  const info = parseInfo(await redis.info());
  const version = info.redis_version ?? '0.0.0';
  const maxmemoryPolicy = info.maxmemory_policy ?? 'unknown';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 5) {
    throw new ConnectionError(`Redis ${version} is too old: BullMQ needs Redis >= 5 (6.2 or newer recommended)`, 'fiber.redis.version', { version });
  }
  const warnings: string[] = [];
  if (major < 6 || (major === 6 && minor < 2)) warnings.push(`Redis ${version} is older than 6.2; BullMQ works but some features are slower`);
  if (maxmemoryPolicy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is "${maxmemoryPolicy}": under memory pressure it evicts keys and BullMQ loses jobs; set maxmemory-policy noeviction`);
  }
  return { version, maxmemoryPolicy, warnings };
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}
