import { isPlainObject } from './overrides.js';
import { parseRunConfig } from './parse-run-config.js';
import type { RunConfig } from './run-config.js';
import { DEFAULT_TOKENIZER } from './tokenizer-location.js';

/**
 * A run config read back from a checkpoint manifest or a queued job, which may predate fields
 * added since. Before data.tokenizer existed every run tokenized with the default vocabulary, so
 * that is what an absent key means; anything else still goes through the one validation.
 */
export function parseStoredRunConfig(input: unknown): RunConfig {
  if (isPlainObject(input) && isPlainObject(input.data) && !('tokenizer' in input.data)) {
    return parseRunConfig({ ...input, data: { ...input.data, tokenizer: DEFAULT_TOKENIZER } });
  }
  return parseRunConfig(input);
}
