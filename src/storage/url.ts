import { ConfigError } from '../errors/index.js';

/**
 * URLs of objects: `s3://bucket/key`, `http(s)://...`, `file:///path` or a bare local path. Every
 * store, checkpoint and shard URL goes through these.
 */

/** The scheme a URL is read with. Bare paths are local files. */
export type UrlScheme = 's3' | 'file' | 'http';

export function schemeOf(url: string): UrlScheme {
  if (url.startsWith('s3://')) return 's3';
  if (url.startsWith('http://') || url.startsWith('https://')) return 'http';
  if (url.startsWith('file://') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return 'file';
  throw new ConfigError('data.shards', `unsupported URL scheme in ${url} (use s3://, file://, http(s):// or a path)`);
}

/** `s3://bucket/a/b.tar` -> { bucket, key }. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new ConfigError('data.shards', `malformed S3 URL ${url} (expected s3://bucket/key)`);
  return { bucket: m[1] ?? '', key: m[2] ?? '' };
}

/** `base` + `/part`..., with no doubled slash: checkpoint directories and files under a URI. */
export function joinUrl(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts].join('/');
}
