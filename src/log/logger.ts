import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { REDACT_PATHS } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerConfig {
  /** pino level name. @defaultValue 'info' */
  readonly level: string;
  /** Human-readable lines instead of JSON. @defaultValue true when stderr is a TTY */
  readonly pretty: boolean;
  /** Colours in pretty output (off when NO_COLOR is set). @defaultValue true */
  readonly colorize?: boolean;
  /** Static bindings on every line, e.g. { process: 'ps', shard: 0 }. */
  readonly bindings?: Record<string, unknown>;
}

/**
 * One root logger per process, writing to stderr (stdout is reserved for command output and
 * `--json`). Services get JSON lines; a person at a terminal gets pino-pretty. Components take
 * `log.child({ run, stage, task })` rather than building their own.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { ...config.bindings },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!config.pretty) return pino(options, pino.destination({ fd: 2, sync: true }));
  // pino-pretty is CommonJS and only needed at a terminal: load it lazily, in-process, so its
  // output stays ordered with the command's own stderr writes.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => NodeJS.WritableStream;
  return pino(options, pretty({ destination: 2, sync: true, colorize: config.colorize ?? true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
}
