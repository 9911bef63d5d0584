import { MLM_IGNORE, ROBERTA_SPECIAL_IDS } from './batch.js';
import { SeededRng } from './seeded-rng.js';

export interface MlmMaskingOptions {
  /** Fraction of maskable tokens selected. @defaultValue 0.15 */
  readonly probability?: number;
  readonly vocabSize: number;
  /** Ids never selected besides padding (attentionMask 0). @defaultValue <s>, </s>, <pad>, <unk>, <mask> */
  readonly specialIds?: readonly number[];
  readonly maskId?: number;
}

/**
 * HF DataCollatorForLanguageModeling as a pure function of a seed: each non-special, non-pad
 * token is selected with probability 0.15; a selected token becomes <mask> (80%), a random id
 * (10%) or stays (10%). The data layer calls this when it builds a CoarseBatch.
 * inputIds/attentionMask [B, L] -> mlmInputIds, mlmLabels [B, L] (MLM_IGNORE where unselected).
 */
export function applyMlmMasking(inputIds: Int32Array, attentionMask: Int32Array, seed: number, opts: MlmMaskingOptions): { mlmInputIds: Int32Array; mlmLabels: Int32Array } {
  const rng = new SeededRng(seed);
  const p = opts.probability ?? 0.15;
  const special = new Set(opts.specialIds ?? Object.values(ROBERTA_SPECIAL_IDS));
  const maskId = opts.maskId ?? ROBERTA_SPECIAL_IDS.mask;
  const mlmInputIds = Int32Array.from(inputIds);
  const mlmLabels = new Int32Array(inputIds.length).fill(MLM_IGNORE);
  for (let i = 0; i < inputIds.length; i++) {
    const id = inputIds[i]!;
    // Draw for every position so the stream of draws does not depend on which tokens are special.
    const select = rng.next();
    const how = rng.next();
    const randomId = rng.int(opts.vocabSize);
    if (attentionMask[i] === 0 || special.has(id) || select >= p) continue;
    mlmLabels[i] = id;
    if (how < 0.8) mlmInputIds[i] = maskId;
    else if (how < 0.9) mlmInputIds[i] = randomId;
  }
  return { mlmInputIds, mlmLabels };
}
