/**
 * Secrets must never reach a log line, status output, error message or checkpoint. Two layers:
 * pino's `redact` removes known secret fields wherever they appear in a logged object, and
 * `redactUrl` / `redactText` scrub credentials embedded in connection strings (redis://:pw@host).
 */

/** Field names that hold secrets, at any depth pino can express (top level and one/two levels down). */
export const SECRET_KEYS = [
  'password', 'pass', 'secret', 'token', 'psToken', 'authorization', 'accessKeyId', 'secretAccessKey',
  'sessionToken', 'redisPassword', 'FIBER_PS_TOKEN', 'FIBER_REDIS_PASSWORD', 'AWS_SECRET_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN',
] as const;

export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** `redis://user:pw@host:6379/0` -> `redis://user:***@host:6379/0`; non-URLs are returned as they are. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|token|secret|key/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return url;
  }
}

/** Scrub `scheme://user:secret@` credentials from free text such as driver error messages. */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, '$1***@');
}
