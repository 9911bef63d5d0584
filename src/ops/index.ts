export { startHealthServer, type HealthServer, type HealthServerOptions, type Readiness } from './health-server.js';
export { FiberMetrics, createFiberMetrics, type FiberMetricsConfig, type MetricsProcess } from './metrics.js';
export { MALLOC_TUNING, withMallocTuning } from './malloc-tuning.js';
export { opsSettingsFromEnv, DEFAULT_HEARTBEAT_MAX_AGE_MS, type OpsSettings } from './ops-env.js';
export { startServiceOps, type ServiceOps, type ServiceOpsOptions } from './service-ops.js';
export * from './env-contract.js';
