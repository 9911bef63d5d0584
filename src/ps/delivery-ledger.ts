import { createHash } from 'node:crypto';
import { epochCounts, planTask, type SamplePlanConfig } from '../data/pipeline/sample-plan.js';

/**
 * The delivery ledger: which samples the committed steps of a stage consumed, kept in every
 * checkpoint manifest so that `fiber ledger` can prove exactly-once delivery from storage alone.
 *
 * Step v reads global positions [v*B, (v+1)*B) of the sample plan; position p is rank p mod E of
 * epoch floor(p / E) (E: items per epoch). A step is recorded as its rank ranges per epoch (two
 * when it straddles an epoch boundary) plus a hash of the sample ids those ranks map to. Steps
 * that continue one another merge into one segment, so a run's ledger holds about one segment
 * per epoch however long it is (the hash of a merged segment chains its steps' hashes).
 *
 * A checkpoint's ledger is the one it resumed from plus the steps it committed since: steps that
 * were lost to a restart and redone appear once, as they count once in the parameters.
 */
export const LEDGER_FORMAT = 'fiber.ledger/v1';

export interface LedgerSegment {
  readonly epoch: number;
  /** Ranks [start, end) of the epoch's permutation. */
  readonly start: number;
  readonly end: number;
  /** Steps [fromStep, toStep) that read them. */
  readonly fromStep: number;
  readonly toStep: number;
  /** Chained hash of the sample ids (dataset, sample) of each step's part, in order. */
  readonly ids: string;
}

export interface DeliveryLedger {
  readonly format: typeof LEDGER_FORMAT;
  /** Items per epoch (0 until the first step is recorded). */
  readonly epochItems: number;
  readonly globalBatch: number;
  /** First step the ledger covers: 0, or the step of a checkpoint written before fiber kept one. */
  readonly fromStep: number;
  readonly segments: readonly LedgerSegment[];
}

/** One step's consumption: what the metrics entry of the step carries. */
export interface StepDelivery {
  readonly step: number;
  readonly epochItems: number;
  readonly parts: ReadonlyArray<{ readonly epoch: number; readonly start: number; readonly end: number; readonly ids: string }>;
}

/** What the plan's data looks like to the ledger: dataset sizes and weights. */
export interface LedgerData {
  readonly sizes: readonly number[];
  readonly weights: readonly number[];
}

export function emptyLedger(globalBatch: number, fromStep = 0): DeliveryLedger {
  return { format: LEDGER_FORMAT, epochItems: 0, globalBatch, fromStep, segments: [] };
}

/** The samples step `step` consumes, from the pure sample plan (slot ranges tile the batch in order). */
export function stepDelivery(data: LedgerData, plan: SamplePlanConfig, step: number): StepDelivery {
  const E = epochCounts(data.sizes, data.weights).reduce((a, b) => a + b, 0);
  const parts: Array<{ epoch: number; start: number; end: number; ids: string }> = [];
  let ids: number[] = [];
  const close = () => {
    const last = parts[parts.length - 1];
    if (last) last.ids = hashIds(ids);
    ids = [];
  };
  for (let slot = 0; slot < plan.tasksPerStep; slot++) {
    for (const s of planTask(data.sizes, data.weights, plan, step, slot)) {
      const rank = step * plan.globalBatch + s.position - s.epoch * E;
      const last = parts[parts.length - 1];
      if (last && last.epoch === s.epoch && last.end === rank) last.end++;
      else {
        close();
        parts.push({ epoch: s.epoch, start: rank, end: rank + 1, ids: '' });
      }
      ids.push(s.dataset, s.sample);
    }
  }
  close();
  return { step, epochItems: E, parts };
}

/** The ledger with one more committed step (which must be the next one). */
export function appendDelivery(ledger: DeliveryLedger, d: StepDelivery): DeliveryLedger {
  const segments = [...ledger.segments];
  for (const part of d.parts) {
    const last = segments[segments.length - 1];
    if (last && last.epoch === part.epoch && last.end === part.start && last.toStep === d.step) {
      segments[segments.length - 1] = { ...last, end: part.end, toStep: d.step + 1, ids: chain(last.ids, part.ids) };
    } else {
      segments.push({ epoch: part.epoch, start: part.start, end: part.end, fromStep: d.step, toStep: d.step + 1, ids: part.ids });
    }
  }
  return { ...ledger, epochItems: d.epochItems, segments };
}

export interface LedgerProblem {
  readonly kind: 'missing' | 'duplicated' | 'mismatch' | 'unrecorded';
  readonly message: string;
}

/**
 * Exactly once, from the ranges: the segments must tile global positions [fromStep*B, step*B)
 * with no gap and no overlap, and each segment's steps must be the ones its ranks belong to.
 * `step` is the checkpoint's step (the committed steps are 0..step-1).
 */
export function checkLedger(ledger: DeliveryLedger, step: number): LedgerProblem[] {
  const B = ledger.globalBatch;
  const E = ledger.epochItems;
  const problems: LedgerProblem[] = [];
  if (ledger.fromStep > 0) problems.push({ kind: 'unrecorded', message: `steps 0..${ledger.fromStep - 1} have no record (checkpoints written before fiber kept a delivery ledger)` });
  if (step > ledger.fromStep && E === 0) return [...problems, { kind: 'missing', message: `steps ${ledger.fromStep}..${step - 1}: no delivery recorded` }];
  const describe = (a: number, b: number) => describePositions(a, b, E, B);
  const spans = ledger.segments.map((s) => ({ s, a: s.epoch * E + s.start, b: s.epoch * E + s.end })).sort((x, y) => x.a - y.a || x.b - y.b);
  for (const { s, a, b } of spans) {
    const from = Math.floor(a / B);
    const to = Math.ceil(b / B);
    if (s.start < 0 || s.end > E || s.end <= s.start || from !== s.fromStep || to !== s.toStep) {
      problems.push({ kind: 'mismatch', message: `segment epoch ${s.epoch} ranks [${s.start}, ${s.end}) claims steps ${s.fromStep}..${s.toStep - 1}, but those ranks belong to steps ${from}..${to - 1}` });
    }
  }
  let at = ledger.fromStep * B;
  const end = step * B;
  let prev: LedgerSegment | null = null;
  for (const { s, a, b } of spans) {
    if (a > at) problems.push({ kind: 'missing', message: `${describe(at, Math.min(a, end))} never consumed` });
    else if (a < at) problems.push({ kind: 'duplicated', message: `${describe(a, Math.min(at, b))} consumed twice (segments of steps ${prev!.fromStep}..${prev!.toStep - 1} and ${s.fromStep}..${s.toStep - 1})` });
    if (b > at) {
      at = b;
      prev = s;
    }
  }
  if (at < end) problems.push({ kind: 'missing', message: `${describe(at, end)} never consumed` });
  if (at > end) problems.push({ kind: 'duplicated', message: `${describe(end, at)} recorded past the checkpoint's step ${step}` });
  return problems;
}

/** Recompute every segment's id hash from the plan and today's data (`fiber ledger --verify`). */
export function verifyLedgerIds(ledger: DeliveryLedger, data: LedgerData, plan: SamplePlanConfig): LedgerProblem[] {
  const problems: LedgerProblem[] = [];
  for (const s of ledger.segments) {
    let ids = '';
    let E = 0;
    for (let v = s.fromStep; v < s.toStep; v++) {
      const d = stepDelivery(data, plan, v);
      E = d.epochItems;
      const part = d.parts.find((p) => p.epoch === s.epoch);
      if (part) ids = ids === '' ? part.ids : chain(ids, part.ids);
    }
    if (E !== ledger.epochItems) return [{ kind: 'mismatch', message: `the data now has ${E} items per epoch, the ledger was written for ${ledger.epochItems}: the shards changed since the run` }];
    if (ids !== s.ids) problems.push({ kind: 'mismatch', message: `epoch ${s.epoch} ranks [${s.start}, ${s.end}) (steps ${s.fromStep}..${s.toStep - 1}): the recorded sample ids differ from the plan's` });
  }
  return problems;
}

function describePositions(a: number, b: number, E: number, B: number): string {
  const parts: string[] = [];
  for (let p = a; p < b;) {
    const e = Math.floor(p / E);
    const q = Math.min(b, (e + 1) * E);
    parts.push(`epoch ${e} ranks [${p - e * E}, ${q - e * E})`);
    p = q;
  }
  const s0 = Math.floor(a / B);
  const s1 = Math.ceil(b / B) - 1;
  return `${parts.join(' + ')} (${b - a} samples, step${s1 > s0 ? `s ${s0}..${s1}` : ` ${s0}`})`;
}

function hashIds(ids: readonly number[]): string {
  return createHash('sha256').update(new Uint8Array(Uint32Array.from(ids).buffer)).digest('hex').slice(0, 32);
}

function chain(a: string, b: string): string {
  return createHash('sha256').update(`${a}:${b}`).digest('hex').slice(0, 32);
}
