import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prepareChaosData, trainWithChaos, type ChaosConfig } from '../../bench/chaos-run.js';
import { cocoDevDir } from '../helpers/coco-dev.js';

/**
 * bench/chaos's short version (issue 17 item 5): 16 steps on 2 workers and 2 shards, three seeded
 * faults (a worker and shard 1 SIGKILLed, Redis restarted); the weights must equal the undisturbed run's
 * and the ledger must show every sample once. Skipped with the other real-process tests when
 * coco-dev (the marker of a full checkout) is absent.
 */
const coco = cocoDevDir();

describe('bench/chaos, short', { skip: coco.skip, timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'fiber-chaos-test-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('3 faults: bit-identical weights, every sample exactly once', async () => {
    const c: ChaosConfig = { root, steps: 16, workers: 2, shards: 2, seed: 16, everySeconds: 3, maxFaults: 3 };
    const shards = await prepareChaosData(root);
    const reference = await trainWithChaos(c, shards, 'undisturbed', false);
    const chaos = await trainWithChaos(c, shards, 'chaos', true);
    // Seed 16 draws a worker, shard 1 and Redis, in that order.
    assert.deepEqual(chaos.faults.map((f) => f.kind), ['kill-worker', 'kill-shard', 'restart-redis'], JSON.stringify(chaos.faults));
    assert.equal(chaos.sha256, reference.sha256, `bit-identical after ${JSON.stringify(chaos.faults)}`);
    assert.deepEqual([chaos.ledger.ok, chaos.ledger.samples, chaos.ledger.missing, chaos.ledger.duplicated, chaos.ledger.idsVerified], [true, 16 * 4, 0, 0, true]);
  });
});
