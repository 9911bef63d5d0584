import type { Command } from 'commander';
import { createLogger, type Logger } from '../log/logger.js';
import type { ServerCheck } from '../queue/redis-connection.js';
import { redactUrl } from '../log/redact.js';
import type { Redis } from 'ioredis';
import { colorEnabled } from './terminal.js';

/** What every command action gets: global flags resolved once, and a logger for stderr. */
export interface CliContext {
  readonly log: Logger;
  readonly verbose: boolean;
  readonly env: NodeJS.ProcessEnv;
}

export function cliContext(cmd: Command, service = false): CliContext {
  const g = cmd.optsWithGlobals<{ verbose?: boolean; logLevel?: string }>();
  // One-shot commands talk to the user on stdout; their logs stay quiet unless asked for.
  const level = g.logLevel ?? (g.verbose ? 'debug' : service ? 'info' : 'warn');
  const log = createLogger({ level, pretty: Boolean(process.stderr.isTTY) && !service, colorize: colorEnabled(process.stderr), bindings: { cmd: cmd.name() } });
  return { log, verbose: Boolean(g.verbose), env: process.env };
}

export interface CliRedis {
  readonly redis: Redis;
  readonly check: ServerCheck;
  /** Redacted URL, safe to print. */
  readonly url: string;
}

/** Connect for a one-shot command: fail within 5 s, never retry in the background. */
export async function connectForCommand(ctx: CliContext, flagUrl: string | undefined): Promise<CliRedis> {
  const { connectRedis, redisConfigFromEnv } = await import('../queue/redis-connection.js');
  const { url, password } = redisConfigFromEnv(ctx.env, flagUrl);
  const { redis, check } = await connectRedis({ url, ...(password ? { password } : {}), connectTimeoutMs: 5000, reconnect: false }, ctx.log);
  return { redis, check, url: redactUrl(url) };
}
