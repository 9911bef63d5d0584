import type { RunConfig, StageName } from '../config/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { planStage } from '../stage/plan-stage.js';
import type { CheckpointManifest } from './checkpoint-layout.js';
import { appendDelivery, emptyLedger, stepDelivery, type DeliveryLedger, type LedgerData, type StepDelivery } from './delivery-ledger.js';
import { loadLedgerData } from './ledger-data.js';

/**
 * The coordinator's delivery ledger for the stage it runs: reset to a checkpoint's ledger
 * whenever the stage (re)starts from one, extended by each committed step. The shard indexes
 * are read once, at the first step (a stage that never trains needs no data).
 */
export class StageDeliveries {
  private data: LedgerData | null = null;
  private current: DeliveryLedger;

  constructor(private readonly store: ObjectStore, private readonly config: RunConfig, private readonly stage: StageName) {
    this.current = emptyLedger(config.batch[stage].globalBatch);
  }

  get ledger(): DeliveryLedger {
    return this.current;
  }

  /** Continue from a checkpoint: its ledger, or (written before fiber kept one) a ledger that starts at its step. */
  resumeFrom(manifest: CheckpointManifest): void {
    this.current = manifest.ledger ?? emptyLedger(this.config.batch[this.stage].globalBatch, manifest.step);
  }

  /** Record step `step` as committed (every shard applied it); returns what it consumed. */
  async commit(step: number): Promise<StepDelivery> {
    this.data ??= await loadLedgerData(this.store, this.config, this.stage);
    const d = stepDelivery(this.data, planStage(this.config, this.stage).samplePlan, step);
    this.current = appendDelivery(this.current, d);
    return d;
  }
}
