/**
 * The dotted paths where two configs differ (`optimizer.coarse.lr: 0.0001 -> 0.0002`), at most
 * `limit` of them: what a refused resume names so the user sees what changed.
 */
export function configDifferences(before: unknown, after: unknown, limit = 10): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (out.length >= limit) return;
    if (isObject(a) && isObject(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk(a[k], b[k], path ? `${path}.${k}` : k);
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path || '(config)'}: ${show(a)} -> ${show(b)}`);
  };
  walk(before, after, '');
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
