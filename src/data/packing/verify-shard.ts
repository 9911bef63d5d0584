import { BadSampleCounter } from '../bad-sample.js';
import { cleanBoxes } from '../pipeline/grounding-targets.js';
import { coarseImage, UndecodableImageError } from '../pipeline/image-transform.js';
import { IMAGENET_NORMALIZATION } from '../pipeline/data-stage-config.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { readSamples, sampleCrc32, type RawSample } from '../webdataset/raw-sample.js';
import type { ShardIndex } from '../webdataset/shard-index.js';
import { parseAnnotations } from '../pipeline/sample-annotations.js';
import { loadShardIndex } from '../webdataset/shard-index.js';

/** The outcome of reading every sample of one shard. */
export interface ShardVerification {
  readonly url: string;
  /** Samples read (good and bad). */
  readonly samples: number;
  readonly good: number;
  /** Set when the stored index disagrees with the shard (or is missing). */
  readonly indexProblem?: string;
}

/**
 * Read a whole shard sequentially and check every sample as training would: tar structure, the
 * image decodes, captions and JSON parse, boxes and spans are usable. Problems go to `bad`.
 * Fine-stage checks run for samples whose JSON has boxes or labels.
 */
export async function verifyShard(store: ObjectStore, url: string, bad: BadSampleCounter): Promise<ShardVerification> {
  const keys: string[] = [];
  const offsets: number[] = [];
  let good = 0;
  const before = bad.total;
  let index: ShardIndex | undefined;
  let indexProblem: string | undefined;
  try {
    index = await loadShardIndex(store, url);
  } catch (err) {
    indexProblem = (err as Error).message;
  }
  // The index's checksums, by offset: a sample whose bytes changed since packing is bad even if
  // it still decodes.
  const crcAt = new Map(index?.crc32s ? index.offsets.map((o, i) => [o, index?.crc32s?.[i] as number]) : []);
  for await (const raw of readSamples(store.stream(url), url, bad)) {
    keys.push(raw.key);
    offsets.push(raw.offset);
    const expected = crcAt.get(raw.offset);
    if (expected !== undefined && sampleCrc32(raw.files) !== expected) {
      bad.add({ reason: 'checksum_mismatch', shard: url, key: raw.key });
      continue;
    }
    if (await verifySample(raw, bad)) good++;
  }
  const samples = keys.length + countNewTarDamage(bad, before);
  if (index && (index.keys.length !== keys.length || index.keys.some((k, i) => k !== keys[i] || index?.offsets[i] !== offsets[i]))) {
    indexProblem = `index lists ${index.keys.length} samples, shard has ${keys.length} readable ones at different offsets: rebuild with \`fiber data index\``;
  }
  return { url, samples, good, ...(indexProblem ? { indexProblem } : {}) };
}

function countNewTarDamage(bad: BadSampleCounter, before: number): number {
  return bad.reports.slice(before).filter((r) => r.reason === 'corrupt_tar' || r.reason === 'truncated_tar' || r.reason === 'duplicate_member').length;
}

async function verifySample(raw: RawSample, bad: BadSampleCounter): Promise<boolean> {
  const jsonText = raw.files.get('json')?.toString('utf8') ?? '';
  const stage = /"(boxes|labels)"\s*:/.test(jsonText) ? 'fine' : 'coarse';
  const a = parseAnnotations(raw, stage, bad);
  if (!a) return false;
  let width: number;
  let height: number;
  try {
    // A small output still decodes every pixel of the input: corrupt data anywhere shows up.
    const img = await coarseImage(a.image, 16, IMAGENET_NORMALIZATION);
    width = img.originalWidth;
    height = img.originalHeight;
  } catch (err) {
    if (!(err instanceof UndecodableImageError)) throw err;
    bad.add({ shard: raw.shard, key: raw.key, reason: 'undecodable_image', detail: err.message });
    return false;
  }
  if (stage === 'fine') {
    const before = bad.total;
    const caption = a.captions[0] ?? '';
    const spans = a.labels.length > 0 ? a.boxes.map(() => [[0, 1] as const]) : a.tokensPositive;
    cleanBoxes(a.boxes, spans, width, height, a.labels.length > 0 ? 1 : caption.length, { shard: raw.shard, key: raw.key }, bad);
    return bad.total === before;
  }
  return true;
}
