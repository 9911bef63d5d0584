import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors/index.js';
import { isPlainObject } from './overrides.js';

/** Read a YAML (.yaml/.yml) or JSON run config file into a plain object, with errors naming the file. */
export async function loadConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError('--config', `cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code ?? String(err)})`);
  }
  let value: unknown;
  try {
    // JSON is YAML 1.2, but parse .json strictly so a stray trailing comma is reported as JSON.
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError('--config', `${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new ConfigError('--config', `${path} must hold a mapping of config sections (seed, model, data, batch, optimizer, checkpoint)`);
  return value;
}
