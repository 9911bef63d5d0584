/**
 * Checkpoint evaluation's public surface, for `fiber eval`, the demo and the coordinator.
 * Importing this loads TensorFlow.js (lazy-import it from CLI code); eval-result.js alone does not.
 */
export { evaluateCheckpoint, DEFAULT_EVAL_BATCH_SIZE, type EvalOptions } from './evaluate-checkpoint.js';
export { EVAL_SKIP_REASONS, type EvalResult, type EvalProgress, type EvalProgressFn, type EvalSkipReason } from './eval-result.js';
