import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderConfigReference } from '../../src/config/config-reference.js';
import { REPO_ROOT } from '../helpers/cli.js';

describe('docs/config.md', () => {
  it('is the reference generated from the schema (run `npm run docs` after changing config)', () => {
    const generated = renderConfigReference();
    assert.equal(readFileSync(join(REPO_ROOT, 'docs/config.md'), 'utf8'), generated);
    for (const field of ['batch.coarse.globalBatch', 'optimizer.fine.milestones', 'data.coarse.shards', 'checkpoint.keepLast', 'model.numFusionLayers']) {
      assert.ok(generated.includes(`| \`${field}\` |`), field);
    }
  });
});
