import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ConditionWaiters } from '../../src/ps/condition-waiters.js';

it('settles true when woken with the condition met, false at the timeout, false at once when cancelled', async () => {
  const w = new ConditionWaiters();
  let x = 0;
  assert.equal(await w.wait(() => x === 0, 10), true, 'already true: at once');
  const soon = w.wait(() => x >= 2, 5000);
  const never = w.wait(() => x >= 100, 30);
  x = 1;
  w.wake();
  x = 2;
  w.wake();
  assert.equal(await soon, true);
  assert.equal(await never, false, 'timed out');
  const pending = w.wait(() => x >= 100, 60_000);
  const t0 = Date.now();
  w.cancelAll();
  w.cancelAll();
  assert.equal(await pending, false);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(await w.wait(() => x >= 100, 60_000), false, 'a wait after cancelAll ends at once');
  assert.equal(await w.wait(() => x === 2, 10), true, 'a condition already met still holds');
});
