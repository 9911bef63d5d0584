import { ConfigError } from '../../errors/index.js';

/**
 * Shard URL patterns, as webdataset writes them: `s3://bucket/cc3m/{000000..000331}.tar` expands to
 * 332 URLs, `{a,b}` to alternatives, and several patterns (a list, or one string joined with `::`)
 * concatenate. Zero padding follows the wider endpoint, as bash and braceexpand do.
 */
export function expandShardUrls(patterns: readonly string[] | string): string[] {
  const list = typeof patterns === 'string' ? patterns.split('::') : patterns.flatMap((p) => p.split('::'));
  const urls = list.map((p) => p.trim()).filter((p) => p.length > 0).flatMap((p) => expandBraces(p));
  if (urls.length === 0) throw new ConfigError('data.shards', 'no shard URL given');
  return urls;
}

/** Expand every `{a..b}` numeric range and `{x,y}` list in one pattern, left to right. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  const close = matchingBrace(pattern, open);
  if (close < 0) throw new ConfigError('data.shards', `unbalanced "{" in shard pattern ${pattern}`);
  const head = pattern.slice(0, open);
  const body = pattern.slice(open + 1, close);
  const tails = expandBraces(pattern.slice(close + 1));
  const alternatives = expandBody(body, pattern);
  return alternatives.flatMap((a) => expandBraces(a).flatMap((mid) => tails.map((tail) => head + mid + tail)));
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function expandBody(body: string, pattern: string): string[] {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (range) {
    const [, a = '', b = ''] = range;
    const from = Number(a);
    const to = Number(b);
    // Pad only when an endpoint is written with a leading zero, like bash: {000..012}.
    const width = /^-?0\d/.test(a) || /^-?0\d/.test(b) ? Math.max(a.length, b.length) : 0;
    const step = from <= to ? 1 : -1;
    const count = Math.abs(to - from) + 1;
    if (count > 10_000_000) throw new ConfigError('data.shards', `range {${body}} in ${pattern} is too large`);
    return Array.from({ length: count }, (_, i) => String(from + i * step).padStart(width, '0'));
  }
  // Split on top-level commas only, so nested braces survive for the recursive pass.
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  if (parts.length === 1) throw new ConfigError('data.shards', `"{${body}}" in ${pattern} is neither a range a..b nor a list a,b`);
  return parts;
}
