/** The two pretraining stages, in the order a run goes through them (reference §2 and §3). */
export const STAGE_NAMES = ['coarse', 'fine'] as const;
export type StageName = (typeof STAGE_NAMES)[number];
