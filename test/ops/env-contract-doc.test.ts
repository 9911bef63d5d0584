import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { renderEnvContractMarkdown } from '../../src/ops/env-contract-doc.js';
import { REPO_ROOT } from '../helpers/cli.js';

describe('docs/ops.md', () => {
  it('embeds the current env contract table', () => {
    const doc = readFileSync(resolve(REPO_ROOT, 'docs/ops.md'), 'utf8');
    assert.ok(doc.includes(renderEnvContractMarkdown()), 'docs/ops.md is stale: paste the output of renderEnvContractMarkdown() (src/ops/env-contract-doc.ts)');
  });
});
