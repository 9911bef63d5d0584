import { createLogger, type Logger } from '../../log/logger.js';
import { createObjectStore, type ObjectStore } from '../../storage/object-store.js';
import { DEFAULT_RETRY } from '../../storage/retry.js';
import { s3ConfigFromEnv } from '../../storage/s3-config.js';
import type { GlobalOptions } from '../program.js';
import { colorEnabled } from '../terminal.js';

/** What every `fiber data` command needs: a store configured from the environment and a logger. */
export function dataContext(globals: GlobalOptions): { store: ObjectStore; log: Logger } {
  const log = createLogger({ level: globals.verbose ? 'debug' : (globals.logLevel ?? 'warn'), pretty: process.stderr.isTTY === true, colorize: colorEnabled(process.stderr) });
  const s3 = s3ConfigFromEnv(process.env);
  return { store: createObjectStore({ s3, retry: DEFAULT_RETRY }), log };
}
