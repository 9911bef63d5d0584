import { createObjectStore, type ObjectStore } from '../storage/object-store.js';
import { DEFAULT_RETRY } from '../storage/retry.js';
import { s3ConfigFromEnv } from '../storage/s3-config.js';
import type { CliContext } from './context.js';

/** The object store a one-shot command reads checkpoints with: S3 settings from the environment, default retries. */
export function commandStore(ctx: CliContext): ObjectStore {
  return createObjectStore({ s3: s3ConfigFromEnv(ctx.env), retry: DEFAULT_RETRY });
}
