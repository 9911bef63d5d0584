import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openChaosStorage, prepareChaosData, trainWithChaos, type ChaosConfig, type ChaosStorage } from '../../bench/chaos-run.js';
import { cocoDevDir } from '../helpers/coco-dev.js';

/**
 * bench/chaos's short version (issue 17 item 5): 16 steps on 2 workers and 2 shards, data and
 * checkpoints on a local S3 server behind a fault-injecting proxy, four seeded faults (S3 requests
 * failing, a worker and shard 1 SIGKILLed, Redis restarted); the weights must equal the undisturbed
 * run's and the ledger must show every sample once. Skipped with the other real-process tests when
 * coco-dev (the marker of a full checkout) is absent.
 */
const coco = cocoDevDir();
const SEED = 37;

describe('bench/chaos, short', { skip: coco.skip, timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'fiber-chaos-test-'));
  let storage: ChaosStorage | undefined;
  after(async () => {
    await storage?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('4 faults: bit-identical weights, every sample exactly once', async () => {
    const c: ChaosConfig = { root, steps: 16, workers: 2, shards: 2, seed: SEED, everySeconds: 3, maxFaults: 4 };
    storage = await openChaosStorage(root, 's3');
    const shards = await prepareChaosData(storage);
    const reference = await trainWithChaos(c, storage, shards, 'undisturbed', false);
    const chaos = await trainWithChaos(c, storage, shards, 'chaos', true);
    // Seed 37 draws a worker, S3, shard 1 and Redis, in that order.
    assert.deepEqual(chaos.faults.map((f) => f.kind), ['kill-worker', 's3-errors', 'kill-shard', 'restart-redis'], JSON.stringify(chaos.faults));
    assert.equal(chaos.sha256, reference.sha256, `bit-identical after ${JSON.stringify(chaos.faults)}`);
    assert.deepEqual([chaos.ledger.ok, chaos.ledger.samples, chaos.ledger.missing, chaos.ledger.duplicated, chaos.ledger.idsVerified], [true, 16 * 4, 0, 0, true]);
  });
});
