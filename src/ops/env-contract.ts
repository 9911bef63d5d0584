/**
 * The one source of truth for what fiber's processes read from their environment when they run
 * in a container: variable names, default ports, Secret names and keys, health paths. The k8s
 * manifests (k8s/) are checked against this file by test/k8s/manifests.test.ts: every variable a
 * manifest sets for a fiber container is listed here, every variable marked required for a
 * process is set for it, and every Secret reference names a key below.
 *
 * Only names and defaults live here; each variable is parsed where it is consumed (Redis in
 * src/queue/redis-connection.ts, health in src/ops/ops-env.ts, the PS and worker in theirs).
 */

/** A fiber process that runs in a pod. `pretrain` is the one-shot Job; `ps` and `worker` are services. */
export type FiberProcess = 'ps' | 'worker' | 'pretrain';

export const FIBER_PROCESSES: readonly FiberProcess[] = ['ps', 'worker', 'pretrain'];

/** Default ports. The manifests use these numbers, and name them `tensor` and `metrics`. */
export const PORTS = {
  /** Parameter-server tensor protocol (FIBER_PS_PORT). */
  psTensor: 7070,
  /** /healthz, /readyz and /metrics of every service process (FIBER_METRICS_PORT). */
  metrics: 9090,
  /** Redis. */
  redis: 6379,
} as const;

/** HTTP paths served by src/ops/health-server.ts on the metrics port. */
export const HEALTH_PATHS = {
  liveness: '/healthz',
  readiness: '/readyz',
  metrics: '/metrics',
} as const;

/**
 * Kubernetes Secrets fiber reads, by Secret name, and the key of each. Templates with
 * placeholders are in k8s/secrets/; real values are created by the operator (k8s/README.md).
 */
export const SECRETS = {
  redis: { name: 'fiber-redis', keys: { password: 'password' } },
  psToken: { name: 'fiber-ps-token', keys: { token: 'token' } },
  s3: { name: 'fiber-s3', keys: { accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY' } },
} as const;

/** Where a variable's value comes from in the manifests. */
export type EnvSource =
  | { readonly kind: 'secret'; readonly secret: string; readonly key: string }
  | { readonly kind: 'config' }
  | { readonly kind: 'downward' }
  | { readonly kind: 'literal' };

export interface EnvVarSpec {
  readonly name: string;
  readonly description: string;
  /** Processes that read it. */
  readonly readBy: readonly FiberProcess[];
  /** Processes whose pods must set it (a subset of readBy). */
  readonly requiredFor: readonly FiberProcess[];
  readonly source: EnvSource;
  /** The value the code uses when it is unset, if any. */
  readonly defaultValue?: string;
}

const ALL: readonly FiberProcess[] = FIBER_PROCESSES;
const SERVICES: readonly FiberProcess[] = ['ps', 'worker'];

/** Every variable fiber reads in a container, in the order the manifests list them. */
export const ENV_VARS: readonly EnvVarSpec[] = [
  { name: 'FIBER_REDIS_URL', description: 'redis://host:port of the queues and run registry, without the password', readBy: ALL, requiredFor: ALL, source: { kind: 'config' }, defaultValue: 'redis://127.0.0.1:6379' },
  { name: 'FIBER_REDIS_PASSWORD', description: 'Redis password (overrides any in the URL)', readBy: ALL, requiredFor: ALL, source: { kind: 'secret', secret: SECRETS.redis.name, key: SECRETS.redis.keys.password } },
  { name: 'FIBER_LOG_LEVEL', description: 'pino level: fatal|error|warn|info|debug|trace|silent', readBy: ALL, requiredFor: [], source: { kind: 'config' }, defaultValue: 'info' },
  { name: 'FIBER_PS_TOKEN', description: 'shared secret for the worker <-> parameter-server handshake', readBy: SERVICES, requiredFor: SERVICES, source: { kind: 'secret', secret: SECRETS.psToken.name, key: SECRETS.psToken.keys.token } },
  { name: 'AWS_ACCESS_KEY_ID', description: 'S3 access key (AWS SDK credential chain)', readBy: ALL, requiredFor: SERVICES, source: { kind: 'secret', secret: SECRETS.s3.name, key: SECRETS.s3.keys.accessKeyId } },
  { name: 'AWS_SECRET_ACCESS_KEY', description: 'S3 secret key (AWS SDK credential chain)', readBy: ALL, requiredFor: SERVICES, source: { kind: 'secret', secret: SECRETS.s3.name, key: SECRETS.s3.keys.secretAccessKey } },
  { name: 'AWS_REGION', description: 'S3 region (any value for MinIO)', readBy: ALL, requiredFor: SERVICES, source: { kind: 'config' } },
  { name: 'FIBER_S3_ENDPOINT', description: 'endpoint of an S3-compatible store (MinIO); unset for AWS S3', readBy: ALL, requiredFor: [], source: { kind: 'config' } },
  { name: 'FIBER_METRICS_PORT', description: 'port of /healthz, /readyz and /metrics', readBy: SERVICES, requiredFor: SERVICES, source: { kind: 'literal' }, defaultValue: String(PORTS.metrics) },
  { name: 'FIBER_HEARTBEAT_MAX_AGE_MS', description: '/healthz fails once the main loop has not beaten for this long (ms)', readBy: SERVICES, requiredFor: SERVICES, source: { kind: 'config' }, defaultValue: '300000' },
  { name: 'FIBER_PS_SHARDS', description: 'number of parameter-server shards S (= StatefulSet replicas)', readBy: ['ps'], requiredFor: ['ps'], source: { kind: 'config' } },
  { name: 'FIBER_PS_SHARD', description: 'this shard index; unset in k8s, where it is the HOSTNAME ordinal (fiber-ps-2 -> 2)', readBy: ['ps'], requiredFor: [], source: { kind: 'literal' } },
  { name: 'FIBER_PS_PORT', description: 'parameter-server tensor port', readBy: ['ps'], requiredFor: ['ps'], source: { kind: 'literal' }, defaultValue: String(PORTS.psTensor) },
  { name: 'FIBER_PS_ADVERTISE_HOST', description: 'host name workers dial, published in Redis: the pod DNS name behind the headless Service', readBy: ['ps'], requiredFor: ['ps'], source: { kind: 'literal' } },
  { name: 'FIBER_PS_LEASE_TTL_S', description: 'shard 0: the coordinator lease\'s lifetime without renewal (s); a dead coordinator is replaced after at most this', readBy: ['ps'], requiredFor: [], source: { kind: 'config' }, defaultValue: '30' },
  { name: 'FIBER_PS_STANDBY_GRACE_S', description: 'shard 0: how long to stand by behind a coordinator with another --shards before exiting 2 (s)', readBy: ['ps'], requiredFor: [], source: { kind: 'config' }, defaultValue: '120' },
  { name: 'FIBER_WORKER_ID', description: 'worker id shown by fiber status (default: hostname)', readBy: ['worker'], requiredFor: [], source: { kind: 'downward' } },
  { name: 'FIBER_BACKEND', description: 'force a TensorFlow.js backend: tensorflow-gpu|tensorflow|wasm|cpu', readBy: ['worker'], requiredFor: [], source: { kind: 'config' } },
  { name: 'FIBER_PS_BIND', description: 'interface the parameter server listens on', readBy: ['ps'], requiredFor: [], source: { kind: 'literal' }, defaultValue: '0.0.0.0' },
  { name: 'FIBER_TASK_LOCK_MS', description: 'gradient-task lock (ms); a dead worker\'s task is redone after it expires', readBy: ['worker'], requiredFor: [], source: { kind: 'config' }, defaultValue: '30000' },
  { name: 'FIBER_S3_FORCE_PATH_STYLE', description: 'path-style S3 URLs (default: on when FIBER_S3_ENDPOINT is set)', readBy: ALL, requiredFor: [], source: { kind: 'config' } },
  { name: 'FIBER_FAULT_COMPUTE_BUSY_MS', description: 'fault injection for drills and tests: hold the compute thread this long per task', readBy: ['worker'], requiredFor: [], source: { kind: 'config' } },
  { name: 'FIBER_EXIT_WITH_PARENT', description: '1: stop (as on SIGINT) when the parent process is gone; fiber demo sets it for its children', readBy: SERVICES, requiredFor: [], source: { kind: 'literal' } },
  { name: 'FIBER_ALLOW_CPU_FALLBACK', description: '1 lets a GPU-image worker run without the native GPU backend', readBy: ['worker'], requiredFor: [], source: { kind: 'config' } },
];

/**
 * Variables a manifest may set that no fiber code reads: Kubernetes expands `$(NAME)` in other
 * variables' values from them (FIBER_PS_ADVERTISE_HOST is `$(POD_NAME).fiber-ps.$(POD_NAMESPACE)...`).
 */
export const MANIFEST_HELPER_VARS: readonly string[] = ['POD_NAME', 'POD_NAMESPACE'];

/** Every variable marked secret in ENV_VARS; the redaction list in src/log/redact.ts covers each. */
export function secretEnvVars(): EnvVarSpec[] {
  return ENV_VARS.filter((v) => v.source.kind === 'secret');
}

/** The spec of one variable, or undefined when fiber does not read it. */
export function envVarSpec(name: string): EnvVarSpec | undefined {
  return ENV_VARS.find((v) => v.name === name);
}

/** Names of the variables `process` must have set in its pod. */
export function requiredEnvVars(process: FiberProcess): string[] {
  return ENV_VARS.filter((v) => v.requiredFor.includes(process)).map((v) => v.name);
}

/** Names of the variables `process` reads (what a manifest may set for it). */
export function envVarsReadBy(process: FiberProcess): string[] {
  return ENV_VARS.filter((v) => v.readBy.includes(process)).map((v) => v.name);
}
