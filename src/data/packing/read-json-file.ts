import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors/index.js';

/**
 * A JSON annotation file named by a flag: unreadable or invalid JSON is a UsageError naming the
 * flag (exit 2). The whole file is one string, so files over ~512 MB (V8's string limit on Node 20, e.g.
 * Objects365's full train set) fail here with that message: split them first.
 */
export async function readJsonFile<T>(path: string, flag: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`${flag} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
