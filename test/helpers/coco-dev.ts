import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with fiber's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'fiber') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the fiber repository root');
    dir = up;
  }
}

/**
 * coco-dev lives in shared/ beside the repository (../shared/data/coco-dev from the root), never
 * inside it. Returns undefined, with the reason for `test.skip`, where it is absent.
 */
export function cocoDevDir(): { dir?: string; skip?: string } {
  const dir = resolve(repoRoot(), '..', 'shared', 'data', 'coco-dev');
  if (existsSync(join(dir, 'annotations.jsonl'))) return { dir };
  return { skip: `coco-dev not found at ${dir} (expected ../shared/data/coco-dev beside the repository root)` };
}
