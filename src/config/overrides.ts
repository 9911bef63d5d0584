import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors/index.js';

type Plain = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deep merge for config layers: objects merge key by key, everything else (arrays included)
 * replaces. Returns a new object; inputs are not touched.
 */
export function mergeLayers(base: Plain, layer: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeLayers(prev, value) : value;
  }
  return out;
}

/**
 * `--set a.b.c=value` into a nested object. The value is read as a YAML scalar or flow
 * collection, so `3`, `1e-4`, `true`, `null` and `[2,2,6,2]` get their natural types, and
 * anything that is not valid YAML stays a string.
 */
export function parseSetOverrides(sets: readonly string[]): Plain {
  let layer: Plain = {};
  for (const item of sets) {
    const eq = item.indexOf('=');
    const path = eq > 0 ? item.slice(0, eq).trim() : '';
    if (!path || !/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(path)) {
      throw new ConfigError('--set', `expected key.path=value (e.g. batch.coarse.globalBatch=256), got "${item}"`);
    }
    const nested = path.split('.').reduceRight<unknown>((acc, key) => ({ [key]: acc }), readScalar(item.slice(eq + 1)));
    layer = mergeLayers(layer, nested as Plain);
  }
  return layer;
}

function readScalar(raw: string): unknown {
  const text = raw.trim();
  if (text === '') return '';
  try {
    const value: unknown = parseYaml(text);
    // A YAML mapping from `a: b` text is almost never what a --set meant; keep the string.
    return isPlainObject(value) ? text : value;
  } catch {
    return text;
  }
}
