import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './coco-dev.js';

/**
 * roberta-base's vocab.json + merges.txt live in shared/ beside the repository
 * (../shared/data/roberta-base from the root), never inside it. Returns undefined, with the reason
 * for `test.skip`, where they are absent.
 */
export function robertaBaseDir(): { dir?: string; skip?: string } {
  const dir = resolve(repoRoot(), '..', 'shared', 'data', 'roberta-base');
  if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) return { dir };
  return { skip: `roberta-base tokenizer files not found at ${dir} (expected ../shared/data/roberta-base beside the repository root)` };
}
