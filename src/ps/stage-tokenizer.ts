import type { RunConfig } from '../config/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { checkSameTokenizer, checkTokenizerFitsModel, loadTokenizerWithIdentity, type TokenizerIdentity } from '../data/pipeline/tokenizer-identity.js';
import type { CheckpointManifest } from './checkpoint-layout.js';
import { recordedTokenizer } from './recorded-tokenizer.js';

/** Where a stage's weights come from, as the coordinator found it. */
export type StageStart =
  | { readonly kind: 'resume'; readonly stepDir: string; readonly manifest: CheckpointManifest }
  | { readonly kind: 'init'; readonly init: string | null };

/**
 * The stage's tokenizer (data.tokenizer), checked before any weight is loaded or task queued:
 * it must fit model.vocabSize, and be the vocabulary the starting weights were trained with
 * (the stage's own latest checkpoint on resume, the `--init` checkpoint otherwise). The location
 * is in the config hash already; the content hash catches other files at the same location.
 * ConfigError naming data.tokenizer on a mismatch. `unknown` names a start that records no
 * tokenizer (older checkpoints): not checked, for the caller to warn about.
 */
export async function stageTokenizer(config: RunConfig, start: StageStart, store: ObjectStore): Promise<{ identity: TokenizerIdentity; unknown: string | null }> {
  const { identity } = await loadTokenizerWithIdentity(config.data.tokenizer, store);
  checkTokenizerFitsModel(identity, config.model.vocabSize);
  if (start.kind === 'resume') {
    checkSameTokenizer(start.manifest.tokenizer, identity, `this stage's checkpoint ${start.stepDir}`);
    return { identity, unknown: start.manifest.tokenizer ? null : start.stepDir };
  }
  if (start.init === null) return { identity, unknown: null };
  const recorded = await recordedTokenizer(store, start.init);
  checkSameTokenizer(recorded, identity, `the init checkpoint ${start.init}`);
  return { identity, unknown: recorded ? null : start.init };
}
