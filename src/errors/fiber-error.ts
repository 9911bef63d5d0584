/**
 * Every error fiber raises on purpose carries a stable `code` (dotted, never reworded) and a
 * `kind` that decides the exit status in src/cli/main.ts:
 *   usage       -> exit 2 (bad flag, bad config, unknown run: the user must change their input;
 *                  retrying the same command cannot help)
 *   unavailable -> exit 75, EX_TEMPFAIL (Redis or storage not reachable yet: the same command may
 *                  succeed later, so a Kubernetes Job retries it)
 *   runtime     -> exit 1 (storage failure, a run that failed)
 * Anything that is not a FiberError is a bug and is printed with its stack.
 */
export type ErrorKind = 'usage' | 'runtime' | 'unavailable';

export class FiberError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** Extra structured context for logs and `--json` output; never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, kind: ErrorKind, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.details = details;
  }
}

/** A config file, preset, `--set` override or flag is wrong. `field` is the dotted path. */
export class ConfigError extends FiberError {
  readonly field: string;
  constructor(field: string, message: string, details: Record<string, unknown> = {}) {
    super('fiber.config.invalid', 'usage', field ? `${field}: ${message}` : message, { field, ...details });
    this.field = field;
  }
}

/** The command line itself is wrong (unknown stage, missing argument, conflicting flags). */
export class UsageError extends FiberError {
  constructor(message: string, code = 'fiber.usage', details: Record<string, unknown> = {}) {
    super(code, 'usage', message, details);
  }
}

/**
 * Redis could not be reached, refused us, or is configured in a way BullMQ cannot live with.
 * An unreachable server is `unavailable` (exit 75: it may be starting); a malformed URL or
 * refused credentials are `usage` (exit 2: the setting must change). docs/decisions.md.
 */
export class ConnectionError extends FiberError {
  constructor(message: string, code = 'fiber.redis.unreachable', details: Record<string, unknown> = {}, options?: { cause?: unknown }, kind: ErrorKind = 'runtime') {
    super(code, kind, message, details, options);
  }
}

/** Object storage (S3, file, http) failed in a way retries did not fix. */
export class StorageError extends FiberError {
  constructor(message: string, code = 'fiber.storage.failed', details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, 'runtime', message, details, options);
  }
}

/** A run or stage is not in the state the command needs (e.g. fine stage of an unknown run). */
export class RunStateError extends FiberError {
  constructor(message: string, code = 'fiber.run.state', kind: ErrorKind = 'usage', details: Record<string, unknown> = {}) {
    super(code, kind, message, details);
  }
}

export function isFiberError(err: unknown): err is FiberError {
  return err instanceof FiberError;
}
