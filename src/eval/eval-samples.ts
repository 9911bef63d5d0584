import { createHash } from 'node:crypto';
import type { BadSampleCounter } from '../data/bad-sample.js';
import type { DataStageConfig } from '../data/pipeline/data-stage-config.js';
import { mapLimit } from '../storage/map-limit.js';
import type { ObjectStore } from '../storage/object-store.js';
import { prepareSample } from '../data/pipeline/prepare-sample.js';
import { readSamples } from '../data/webdataset/raw-sample.js';
import { createRng, hashInts } from '../data/pipeline/rng.js';
import { parseAnnotations, type SampleAnnotations } from '../data/pipeline/sample-annotations.js';
import type { TextTokenizer } from '../data/pipeline/text-tokenizer.js';
import type { EvalSample } from './eval-batches.js';
import type { EvalSkipReason } from './eval-result.js';

export interface EvalSampleOptions {
  /** The eval stage config (planStage(...).evalData): decides parsing, image transform and text length. */
  readonly dataConfig: DataStageConfig;
  readonly tokenizer: TextTokenizer;
  /** Stop after this many usable samples. */
  readonly limit: number;
  /** Samples decoded per yielded chunk. */
  readonly chunkSize: number;
  /** The data layer's bad-sample counts (undecodable images, malformed JSON, ...). */
  readonly bad: BadSampleCounter;
  /** Eval's own skips. */
  readonly skip: (reason: EvalSkipReason) => void;
}

/**
 * The samples of the shards, in shard order then tar order, decoded and tokenized by the data
 * layer's own readers (readSamples, parseAnnotations, prepareSample), in chunks. The training
 * loader (TaskDataLoader) is not used: it reads a seeded permutation by (step, slot) through the
 * shard index, where eval wants every sample once, in order, with no index needed.
 *  - coarse: the first caption of each image (the usual one-pair-per-image zero-shot protocol);
 *  - fine: grounding samples only (caption + boxes + tokens_positive); detection samples are
 *    counted as `not_grounding`.
 * Each sample carries `imageId`, a digest of its image bytes, so that captions of one image
 * (MDETR packs one record per image-caption pair) count as one image.
 * Each decode is deterministic: the eval config leaves no random choice (one caption, one scale,
 * no flip), and the rng is seeded by the sample's position anyway.
 */
export async function* readEvalSamples(store: ObjectStore, urls: readonly string[], opts: EvalSampleOptions): AsyncGenerator<EvalSample[]> {
  const { dataConfig: config, bad } = opts;
  let pending: Array<{ a: SampleAnnotations; position: number }> = [];
  let read = 0;
  let produced = 0;
  const decode = async (): Promise<EvalSample[]> => {
    const out = await mapLimit(pending, config.read.decodeConcurrency, async ({ a, position }): Promise<EvalSample | undefined> => {
      const s = await prepareSample(a, position, config, opts.tokenizer, createRng(hashInts(0, position)), bad);
      return s && { ...s, imageId: createHash('sha1').update(a.image).digest('hex') };
    });
    pending = [];
    const good = out.filter((s): s is EvalSample => s !== undefined);
    produced += good.length;
    return good;
  };
  for (const url of urls) {
    for await (const raw of readSamples(store.stream(url), url, bad)) {
      const a = parseAnnotations(raw, config.stage, bad);
      if (!a) continue;
      if (config.stage === 'fine' && (a.labels.length > 0 || a.captions.length === 0)) {
        opts.skip('not_grounding');
        continue;
      }
      pending.push({ a: config.stage === 'coarse' ? { ...a, captions: a.captions.slice(0, 1) } : a, position: read++ });
      if (pending.length >= Math.min(opts.chunkSize, opts.limit - produced)) {
        const chunk = await decode();
        if (chunk.length) yield chunk;
        if (produced >= opts.limit) return;
      }
    }
  }
  if (pending.length) {
    const chunk = await decode();
    if (chunk.length) yield chunk;
  }
}
