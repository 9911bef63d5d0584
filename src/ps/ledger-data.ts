import type { RunConfig, StageName } from '../config/index.js';
import { datasetSize, loadDatasetIndex } from '../data/webdataset/dataset-index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { planStage } from '../stage/plan-stage.js';
import type { LedgerData } from './delivery-ledger.js';

/** Dataset sizes and weights of a stage, from its shard indexes: what the delivery ledger's plan needs. */
export async function loadLedgerData(store: ObjectStore, config: RunConfig, stage: StageName): Promise<LedgerData> {
  const { data } = planStage(config, stage);
  const datasets = await Promise.all(data.datasets.map((d, i) => loadDatasetIndex(store, d.name ?? `dataset${i}`, d.shards)));
  return { sizes: datasets.map(datasetSize), weights: data.datasets.map((d) => d.weight ?? 1) };
}
