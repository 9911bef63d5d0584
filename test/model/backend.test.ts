import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, chooseBackend, selectBackend } from '../../src/model/backend.js';
import { FiberError } from '../../src/errors/index.js';

test('an unknown FIBER_BACKEND is a usage error naming the accepted values', async () => {
  await assert.rejects(chooseBackend('tpu'), (err: unknown) => {
    assert.ok(err instanceof FiberError);
    assert.equal(err.code, 'fiber.model.backend');
    assert.equal(err.kind, 'usage');
    for (const name of BACKEND_NAMES) assert.match(err.message, new RegExp(name));
    return true;
  });
});

test('a forced backend whose package is absent is refused with the reason', async () => {
  // tfjs-node is an optionalDependency that cannot install offline; if it ever is installed, this case does not apply.
  const pkg = '@tensorflow/tfjs-node';
  const present = await import(pkg).then(() => true, () => false);
  if (present) return;
  await assert.rejects(chooseBackend('tensorflow'), /not installed.*accepted values/);
});

test('selection falls back past the missing native backends and activates one that runs ops', async () => {
  const choice = await selectBackend({});
  assert.ok((BACKEND_NAMES as readonly string[]).includes(choice.name));
  assert.equal(tf.getBackend(), choice.name === 'tensorflow-gpu' ? 'tensorflow' : choice.name);
  assert.ok(choice.reason.length > 0);
  assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync()), [2, 3]);
});
