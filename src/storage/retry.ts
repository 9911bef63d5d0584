import { StorageError } from '../errors/index.js';

/** Retry policy for storage requests. */
export interface RetryConfig {
  /** Total attempts, the first included. @defaultValue 5 */
  readonly maxAttempts: number;
  /** Backoff before retry n is `baseDelayMs * 2^(n-1)`, capped, times a random factor in [0.5, 1). @defaultValue 200 */
  readonly baseDelayMs: number;
  /** @defaultValue 5000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryConfig = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/**
 * Run `attempt` until it succeeds, retrying only transient failures with exponential backoff and
 * jitter (jitter spreads a fleet of workers that all saw the same S3 throttling). A permanent
 * failure (403, 404, a StorageError we raised on purpose) is thrown at once.
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, config: RetryConfig = DEFAULT_RETRY, sleep = defaultSleep): Promise<T> {
  let lastError: unknown;
  for (let n = 1; n <= config.maxAttempts; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      lastError = err;
      if (!isTransient(err) || n === config.maxAttempts) break;
      const cap = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** (n - 1));
      await sleep(cap * (0.5 + Math.random() / 2));
    }
  }
  throw lastError;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'TimeoutError', 'RequestTimeout', 'RequestTimeTooSkewed',
  'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'InternalError', 'ServiceUnavailable', 'AbortError', 'TransientReadError',
]);

/** 5xx, 429, throttling, resets and timeouts are worth retrying; everything else is not. */
export function isTransient(err: unknown): boolean {
  if (err instanceof StorageError) return err.code === 'fiber.storage.transient';
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; status?: number; cause?: unknown; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode ?? e.status;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (status === 403 || status === 404 || status === 400 || status === 416) return false;
  if (e.$retryable) return true;
  if ((e.code && TRANSIENT_CODES.has(e.code)) || (e.name && TRANSIENT_CODES.has(e.name))) return true;
  if (e.cause && e.cause !== err) return isTransient(e.cause);
  return false;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
