import { createReadStream } from 'node:fs';
import { UsageError } from '../../errors/index.js';

/*
 * Annotation files (COCO, MDETR, Objects365) are one JSON object whose big parts are top-level
 * arrays ("images", "annotations"). Parsing the file as one string fails beyond V8's longest
 * string (536,870,888 characters on Node 20), which MDETR's mixed GoldG file and Objects365's
 * train file exceed. So the file is streamed and scanned byte by byte for the structure only
 * (strings, escapes, nesting), and each element of the wanted arrays is parsed on its own.
 */

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c;
const OPEN_OBJ = 0x7b, CLOSE_OBJ = 0x7d, OPEN_ARR = 0x5b, CLOSE_ARR = 0x5d;

/**
 * The elements of the top-level arrays named `keys` of the JSON object in `path` (an absent key
 * gives []); elements that are objects or arrays, in file order. Other parts of the file are
 * checked for structure only. An unreadable file, a file that is not a JSON object, or a broken
 * element is a UsageError naming `flag` (exit 2).
 */
export async function readJsonArrays(path: string, flag: string, keys: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = Object.fromEntries(keys.map((k) => [k, []]));
  const invalid = (why: string) => new UsageError(`${flag} ${path} is not valid JSON: ${why}`);
  let depth = 0, inString = false, escape = false;
  let expectKey = false, keyBytes: number[] | undefined, key = '';
  let target: unknown[] | undefined; // the wanted array we are inside (depth 2), if any
  let parts: Buffer[] | undefined, start = 0; // the element being collected
  let seen = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      const buf = chunk as Buffer;
      for (let i = 0; i < buf.length; i++) {
        const c = buf[i]!;
        if (inString) {
          if (escape) escape = false;
          else if (c === BACKSLASH) escape = true;
          else if (c === QUOTE) {
            inString = false;
            if (keyBytes) {
              key = JSON.parse(`"${Buffer.from(keyBytes).toString('utf8')}"`) as string;
              keyBytes = undefined;
              expectKey = false;
            }
            continue;
          }
          keyBytes?.push(c);
          continue;
        }
        if (c === QUOTE) {
          inString = true;
          if (depth === 1 && expectKey) keyBytes = [];
        } else if (c === OPEN_OBJ || c === OPEN_ARR) {
          if (depth === 0) {
            if (c !== OPEN_OBJ) throw invalid('the top level is not an object');
            expectKey = true;
          } else if (depth === 1 && c === OPEN_ARR && keys.includes(key)) target = out[key];
          else if (depth === 2 && target) {
            parts = [];
            start = i;
          }
          depth++;
        } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
          depth--;
          if (depth < 0) throw invalid('unbalanced brackets');
          if (depth === 2 && parts && target) {
            parts.push(buf.subarray(start, i + 1));
            target.push(parseElement(Buffer.concat(parts), invalid));
            parts = undefined;
          } else if (depth === 1) target = undefined;
        } else if (c === COMMA && depth === 1) expectKey = true;
      }
      if (parts) {
        parts.push(buf.subarray(start));
        start = 0;
      }
      seen += buf.length;
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${flag} ${path}: ${(err as Error).message}`);
  }
  if (seen === 0) throw invalid('the file is empty');
  if (depth !== 0 || inString) throw invalid('the file ends inside a value (truncated?)');
  return out;
}

function parseElement(bytes: Buffer, invalid: (why: string) => UsageError): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid((err as Error).message);
  }
}
