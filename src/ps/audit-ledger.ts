import { parseStoredRunConfig, STAGE_NAMES, type StageName } from '../config/index.js';
import { StorageError } from '../errors/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { joinUrl } from '../storage/url.js';
import { planStage } from '../stage/plan-stage.js';
import { readLatest, readManifest } from './checkpoint-io.js';
import { stageDir } from './checkpoint-layout.js';
import { checkLedger, verifyLedgerIds, type LedgerProblem } from './delivery-ledger.js';
import { loadLedgerData } from './ledger-data.js';

/** One checkpoint's ledger, checked. */
export interface CheckpointLedgerAudit {
  readonly checkpoint: string;
  readonly step: number;
  readonly problems: readonly LedgerProblem[];
}

/** A stage's delivery, as `fiber ledger` reports it (schema fiber.ledger-audit/v1). */
export interface StageLedgerAudit {
  readonly stage: StageName;
  /** The latest checkpoint: its ledger covers every committed step. */
  readonly checkpoint: string;
  readonly step: number;
  readonly globalBatch: number;
  readonly epochItems: number;
  /** Samples consumed (step x globalBatch) and how many whole epochs that is. */
  readonly samples: number;
  readonly epochs: number;
  readonly segments: number;
  /** Whether the sample ids were recomputed from the shard indexes (--verify). */
  readonly idsVerified: boolean;
  readonly ok: boolean;
  /** The latest checkpoint first, then every older one still in storage. */
  readonly checkpoints: readonly CheckpointLedgerAudit[];
}

/**
 * Prove exactly-once delivery for each stage of a run from its checkpoints alone: every retained
 * checkpoint's ledger must tile its steps' sample positions with no gap and no overlap; with
 * `verify`, the latest one's id hashes are recomputed from the plan and today's shard indexes.
 */
export async function auditRunLedger(store: ObjectStore, checkpointUri: string, run: string, o: { verify: boolean; stages?: readonly StageName[] }): Promise<StageLedgerAudit[]> {
  const out: StageLedgerAudit[] = [];
  for (const stage of o.stages ?? STAGE_NAMES) {
    const dir = stageDir(checkpointUri, run, stage);
    const latest = await readLatest(store, dir);
    if (!latest) continue;
    const m = latest.manifest;
    const checkpoints: CheckpointLedgerAudit[] = [];
    const audit = (checkpoint: string, step: number, ledger: typeof m.ledger): CheckpointLedgerAudit => ({
      checkpoint, step, problems: ledger ? checkLedger(ledger, step) : [{ kind: 'unrecorded', message: 'the manifest has no delivery ledger (written before fiber kept one)' }],
    });
    const first = audit(latest.stepDir, m.step, m.ledger);
    let idsVerified = false;
    if (o.verify && m.ledger) {
      const config = parseStoredRunConfig(m.config);
      const ids = verifyLedgerIds(m.ledger, await loadLedgerData(store, config, stage), planStage(config, stage).samplePlan);
      checkpoints.push({ ...first, problems: [...first.problems, ...ids] });
      idsVerified = true;
    } else checkpoints.push(first);
    for (const name of (await store.list(dir)).filter((n) => /^step-\d{8}$/.test(n)).sort().reverse()) {
      const stepDir = joinUrl(dir, name);
      if (stepDir === latest.stepDir) continue;
      try {
        const older = await readManifest(store, stepDir);
        checkpoints.push(audit(stepDir, older.step, older.ledger));
      } catch (err) {
        // A step directory without a manifest is a checkpoint that was never committed: no reader trusts it.
        if (err instanceof StorageError && err.code === 'fiber.storage.not_found') continue;
        throw err;
      }
    }
    const B = m.ledger?.globalBatch ?? 0;
    const E = m.ledger?.epochItems ?? 0;
    out.push({
      stage, checkpoint: latest.stepDir, step: m.step, globalBatch: B, epochItems: E, samples: m.step * B, epochs: E > 0 ? Math.floor((m.step * B) / E) : 0,
      segments: m.ledger?.segments.length ?? 0, idsVerified, ok: checkpoints.every((c) => c.problems.length === 0), checkpoints,
    });
  }
  return out;
}
