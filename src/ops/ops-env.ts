import { ConfigError } from '../errors/index.js';
import { PORTS } from './env-contract.js';

/** Settings of the health/metrics server, as a service process reads them at start-up. */
export interface OpsSettings {
  /** Port of /healthz, /readyz and /metrics. @defaultValue 9090 */
  readonly metricsPort: number;
  /** /healthz answers 503 once the last heartbeat is older than this. @defaultValue 300000 */
  readonly heartbeatMaxAgeMs: number;
}

export const DEFAULT_HEARTBEAT_MAX_AGE_MS = 300_000;

/**
 * FIBER_METRICS_PORT and FIBER_HEARTBEAT_MAX_AGE_MS from the environment; the only place that
 * reads them. A `--metrics-port` flag, when given, wins over the variable. Throws ConfigError
 * (exit 2) naming the variable when a value is not a usable number.
 */
export function opsSettingsFromEnv(env: NodeJS.ProcessEnv, flagMetricsPort?: number): OpsSettings {
  const metricsPort = flagMetricsPort ?? parseIntVar(env, 'FIBER_METRICS_PORT', PORTS.metrics, 0, 65_535);
  const heartbeatMaxAgeMs = parseIntVar(env, 'FIBER_HEARTBEAT_MAX_AGE_MS', DEFAULT_HEARTBEAT_MAX_AGE_MS, 1, 86_400_000);
  return { metricsPort, heartbeatMaxAgeMs };
}

function parseIntVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}
