import type { Rng } from './rng.js';

/** Masked-language-model settings (reference §2.1, HF DataCollatorForLanguageModeling). */
export interface MlmConfig {
  /** Share of maskable tokens selected. @defaultValue 0.15 */
  readonly probability: number;
  /** Of the selected: share replaced by `<mask>`. @defaultValue 0.8 */
  readonly maskShare: number;
  /** Of the selected: share replaced by a random ordinary token (the rest stay as they are). @defaultValue 0.1 */
  readonly randomShare: number;
}

export const DEFAULT_MLM: MlmConfig = { probability: 0.15, maskShare: 0.8, randomShare: 0.1 };

/** What masking did to one sequence. */
export interface MaskedTokens {
  /** Input ids after masking. */
  readonly ids: Int32Array;
  /** Original id where selected, -100 elsewhere (ignored by the loss). */
  readonly labels: Int32Array;
}

/**
 * Select each non-special token with probability p; replace 80% of the selected with `<mask>`,
 * 10% with a random ordinary token, leave 10%. Special and pad tokens are never selected. The
 * random draws are the caller's Rng, seeded by (seed, step, slot, sample), so a retried task masks
 * the same tokens. Random replacements come from ordinary tokens only (HF draws from the whole
 * vocabulary, specials included; we avoid feeding `<s>` or `<pad>` mid-sentence).
 */
export function maskTokens(ids: ArrayLike<number>, special: ArrayLike<number>, maskId: number, regularIds: Int32Array, rng: Rng, config: MlmConfig = DEFAULT_MLM): MaskedTokens {
  const out = Int32Array.from(ids);
  const labels = new Int32Array(ids.length).fill(-100);
  for (let i = 0; i < ids.length; i++) {
    // Draw for every position, special or not, so masking of token i does not depend on others.
    const select = rng.next();
    const kind = rng.next();
    const pick = rng.int(regularIds.length);
    if (special[i] || select >= config.probability) continue;
    labels[i] = ids[i] as number;
    if (kind < config.maskShare) out[i] = maskId;
    else if (kind < config.maskShare + config.randomShare) out[i] = regularIds[pick] as number;
  }
  return { ids: out, labels };
}
