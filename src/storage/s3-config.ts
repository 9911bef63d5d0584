/**
 * How to reach S3 or an S3-compatible store. Credentials are not here: the AWS SDK's default chain
 * reads them (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, IRSA on Kubernetes), so they
 * never pass through fiber's config, logs or checkpoints.
 */
export interface S3Config {
  /** Endpoint of an S3-compatible store (MinIO, s3rver, Ceph). Unset for AWS S3. Env: FIBER_S3_ENDPOINT. */
  readonly endpoint?: string;
  /** Region. Env: AWS_REGION, then AWS_DEFAULT_REGION. @defaultValue 'us-east-1' */
  readonly region: string;
  /** Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`; needed by most
   *  S3-compatible stores. Env: FIBER_S3_FORCE_PATH_STYLE=1|0. @defaultValue true when `endpoint` is set */
  readonly forcePathStyle: boolean;
  /** Attempts per request before a transient failure (5xx, throttling, reset, timeout) becomes fatal. @defaultValue 5 */
  readonly maxAttempts: number;
  /** Per-request timeout in milliseconds. @defaultValue 30000 */
  readonly requestTimeoutMs: number;
  /** Explicit credentials for programmatic use (tests, embedded servers). Unset: the SDK's default
   *  chain. Never logged (the logger redacts accessKeyId/secretAccessKey). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export const DEFAULT_S3_CONFIG: S3Config = { region: 'us-east-1', forcePathStyle: false, maxAttempts: 5, requestTimeoutMs: 30_000 };

/** The only place the data path reads the environment for S3 settings. */
export function s3ConfigFromEnv(env: Readonly<Record<string, string | undefined>>): S3Config {
  const endpoint = env.FIBER_S3_ENDPOINT?.trim() || undefined;
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || DEFAULT_S3_CONFIG.region;
  const pathStyleEnv = env.FIBER_S3_FORCE_PATH_STYLE?.trim();
  const forcePathStyle = pathStyleEnv ? pathStyleEnv === '1' || pathStyleEnv.toLowerCase() === 'true' : endpoint !== undefined;
  return { ...DEFAULT_S3_CONFIG, ...(endpoint ? { endpoint } : {}), region, forcePathStyle };
}
