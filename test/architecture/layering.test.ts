import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { layeringProblems, parseLayering } from './import-graph.js';

// Runs from dist/test/architecture/; the sources, the fixtures and the docs are read from the repository.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const layering = parseLayering(readFileSync(`${root}docs/architecture.md`, 'utf8'));

test('src/ follows the layering of docs/architecture.md: no import against the direction, no cycle between parts', () => {
  assert.deepEqual(layeringProblems(`${root}src`, layering), []);
});

test('the layering check catches a forbidden import, a cycle between parts and infrastructure in model code (fixture)', () => {
  const problems = layeringProblems(`${root}test/architecture/fixtures/forbidden/src`, layering);
  assert.deepEqual(problems, [
    "model may not import queue: src/model/weights.ts imports '../queue/names.js'",
    "ps may not import worker: src/ps/coordinator.ts imports '../worker/loop.js'",
    'parts import each other around a loop: ps -> worker -> ps',
    "model must not import ioredis: src/model/weights.ts imports 'ioredis'",
  ]);
});

test('the layering table itself is checked: a table that allows a cycle is refused', () => {
  const allowed = new Map([...layering.allowed, ['queue', new Set([...layering.allowed.get('queue')!, 'ps'])]]);
  assert.match(layeringProblems(`${root}src`, { ...layering, allowed }).join('\n'), /the layering table allows a cycle: .*ps.*queue|the layering table allows a cycle: .*queue.*ps/);
});
