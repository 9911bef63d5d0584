import { BadSampleCounter } from '../data/bad-sample.js';
import type { ObjectStore } from '../storage/object-store.js';
import { expandShardUrls } from '../data/webdataset/shard-urls.js';
import { checkSameTokenizer, checkTokenizerFitsModel, loadTokenizerWithIdentity } from '../data/pipeline/tokenizer-identity.js';
import { UsageError } from '../errors/index.js';
import { selectBackend } from '../model/backend.js';
import { FiberModel } from '../model/fiber-model.js';
import { toGroundingBatch, toRetrievalBatch, type GroundingBatch } from './eval-batches.js';
import { planStage } from '../stage/plan-stage.js';
import type { EvalTask } from '../queue/eval-job.js';
import type { EvalProgressFn, EvalResult, EvalSkipReason } from './eval-result.js';
import { readEvalSamples } from './eval-samples.js';
import { evaluateGrounding } from './evaluate-grounding.js';
import { evaluateRetrieval } from './evaluate-retrieval.js';
import { loadEvalCheckpoint } from './load-eval-checkpoint.js';

export interface EvalOptions {
  /** Checkpoint URI: step directory, stage directory or .safetensors file (loadEvalCheckpoint). */
  readonly checkpoint: string;
  /** Shard URLs or brace patterns (expandShardUrls): coarse-format for retrieval, fine grounding for grounding. */
  readonly data: readonly string[];
  readonly task: EvalTask;
  /** Evaluate at most this many samples (images for retrieval, captions for grounding). @defaultValue all */
  readonly limit?: number;
  /** Retrieval only: re-rank each query's ITC top K with ITM. @defaultValue off */
  readonly rerank?: number;
  /** Model preset for a bare .safetensors file with none recorded. */
  readonly preset?: string;
  /**
   * Tokenizer location (as data.tokenizer) for a checkpoint that records none, e.g. a bare
   * .safetensors file; where one is recorded, it must be the same vocabulary.
   * @defaultValue the tokenizer recorded with the checkpoint, else its run config's data.tokenizer
   */
  readonly tokenizer?: string;
  /** Samples per forward pass. @defaultValue 16 */
  readonly batchSize?: number;
  readonly onProgress?: EvalProgressFn;
}

export const DEFAULT_EVAL_BATCH_SIZE = 16;

/**
 * Zero-shot retrieval or phrase-grounding scores of one checkpoint on packed shards: the entry
 * point for `fiber eval`, the demo and the coordinator. No Redis, no logging; storage through
 * `store` (the caller closes it). Bad samples are skipped and counted in `skipped`. Frees every
 * tensor it creates (the model's weights included) before returning or throwing.
 */
export async function evaluateCheckpoint(store: ObjectStore, opts: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const limit = checkCount(opts.limit, '--limit') ?? Number.MAX_SAFE_INTEGER;
  const rerank = checkCount(opts.rerank, '--rerank');
  const batchSize = checkCount(opts.batchSize, '--batch-size') ?? DEFAULT_EVAL_BATCH_SIZE;
  if (rerank !== undefined && opts.task !== 'retrieval') throw new UsageError(`--rerank applies to --task retrieval only (got --task ${opts.task})`, 'fiber.eval.rerank');
  const urls = expandShardUrls(opts.data);
  const ckpt = await loadEvalCheckpoint(store, opts.checkpoint, opts.preset);
  const need = opts.task === 'retrieval' ? 'coarse' : 'fine';
  if (ckpt.stage !== need) {
    throw new UsageError(`--task ${opts.task} needs a ${need} checkpoint (${need === 'coarse' ? 'the ITC/ITM heads' : 'the grounding head'}); ${ckpt.resolved} is a ${ckpt.stage} one`, 'fiber.eval.stage', { stage: ckpt.stage });
  }
  const field = opts.tokenizer !== undefined ? '--tokenizer' : 'data.tokenizer';
  const dataConfig = { ...planStage(ckpt.config, ckpt.stage).evalData, tokenizer: opts.tokenizer ?? ckpt.tokenizer?.location ?? ckpt.config.data.tokenizer };
  const { tokenizer, identity } = await loadTokenizerWithIdentity(dataConfig.tokenizer, store);
  checkTokenizerFitsModel(identity, ckpt.config.model.vocabSize, field);
  checkSameTokenizer(ckpt.tokenizer, identity, ckpt.resolved, field);
  const bad = new BadSampleCounter(undefined, 0); // counts only: the result reports them by reason
  const evalSkips: Partial<Record<EvalSkipReason, number>> = {};
  const skip = (reason: EvalSkipReason) => {
    evalSkips[reason] = (evalSkips[reason] ?? 0) + 1;
  };
  const chunks = readEvalSamples(store, urls, { dataConfig, tokenizer, limit, chunkSize: batchSize, bad, skip });

  await selectBackend();
  const model = new FiberModel(ckpt.config.model, ckpt.stage, ckpt.weights);
  let outcome: { n: number; samples: number; images?: number; scores: Record<string, number>; chance: Record<string, number>; rerank: number | null };
  try {
    if (opts.task === 'retrieval') {
      const batches = (async function* () {
        for await (const c of chunks) yield toRetrievalBatch(c, dataConfig, tokenizer);
      })();
      const r = await evaluateRetrieval(ckpt.config.model, model.params, batches, { batchSize, ...(rerank !== undefined ? { rerank } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
      outcome = { ...r, samples: r.n };
    } else {
      const batches = (async function* () {
        for await (const c of chunks) {
          const b: GroundingBatch | undefined = toGroundingBatch(c, dataConfig, tokenizer, skip);
          if (b) yield b;
        }
      })();
      const g = await evaluateGrounding(ckpt.config.model, model.params, batches, opts.onProgress ? { onProgress: opts.onProgress } : {});
      outcome = { ...g, rerank: null };
    }
  } finally {
    model.dispose();
  }
  const skipped: Record<string, number> = { ...bad.nonZero(), ...evalSkips };
  if (outcome.n === 0) {
    throw new UsageError(
      `--data has nothing to evaluate for --task ${opts.task} (${urls.length} shard(s); skipped: ${JSON.stringify(skipped)}); ${opts.task === 'retrieval' ? 'retrieval reads image-caption shards' : 'grounding reads fine shards with a caption, boxes and tokens_positive'}`,
      'fiber.eval.empty', { skipped },
    );
  }
  return {
    task: opts.task, checkpoint: opts.checkpoint, resolved: ckpt.resolved, stage: ckpt.stage, step: ckpt.step, preset: ckpt.config.model.preset,
    n: outcome.n, samples: outcome.samples, ...(outcome.images !== undefined ? { images: outcome.images } : {}), scores: outcome.scores, chance: outcome.chance, skipped, rerank: outcome.rerank,
    seconds: (performance.now() - started) / 1000,
  };
}

/** An optional count flag: absent, or an integer >= 1 (UsageError naming the flag). */
function checkCount(value: number | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} must be an integer >= 1, got ${value}`, 'fiber.eval.flag', { flag });
  return value;
}
