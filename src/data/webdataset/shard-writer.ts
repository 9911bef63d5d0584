import type { ObjectStore } from '../../storage/object-store.js';
import { encodeShardIndex, indexUrlFor, type ShardIndex } from './shard-index.js';
import { sampleCrc32 } from './raw-sample.js';
import { tarEnd, tarEntry } from './tar-writer.js';

/** Settings for {@link ShardWriter}. */
export interface ShardWriterConfig {
  /** Folder URL the shards go to (`s3://bucket/coco/coarse`, a path). */
  readonly out: string;
  /** Samples per shard. @defaultValue 1000 */
  readonly samplesPerShard: number;
}

/** What a writer wrote. */
export interface WrittenShards {
  readonly urls: string[];
  readonly samples: number;
  readonly bytes: number;
  /** The brace pattern covering every shard written, for the run config. */
  readonly pattern: string;
}

/**
 * Writes webdataset shards `000000.tar`, `000001.tar`, ... and each shard's index beside it. The
 * index comes from the writer's own offsets (no second read); the shard is written before its
 * index, so an index never describes a shard that is not there.
 */
export class ShardWriter {
  private members: Buffer[] = [];
  private keys: string[] = [];
  private offsets: number[] = [];
  private sizes: number[] = [];
  private crc32s: number[] = [];
  private offset = 0;
  private readonly urls: string[] = [];
  private samples = 0;
  private bytes = 0;

  constructor(private readonly store: ObjectStore, private readonly config: ShardWriterConfig) {}

  /** Add one sample: its key (no dots) and its files by extension. */
  async add(key: string, files: ReadonlyArray<readonly [string, Uint8Array]>): Promise<void> {
    if (key.includes('.')) throw new Error(`sample key must not contain a dot (webdataset splits at the first one): ${key}`);
    const start = this.offset;
    for (const [ext, data] of files) {
      const entry = tarEntry(`${key}.${ext}`, data);
      this.members.push(entry);
      this.offset += entry.length;
    }
    this.keys.push(key);
    this.offsets.push(start);
    this.sizes.push(this.offset - start);
    this.crc32s.push(sampleCrc32(new Map(files.map(([ext, data]) => [ext, data]))));
    if (this.keys.length >= this.config.samplesPerShard) await this.flush();
  }

  /** Write the last, partial shard. */
  async finish(): Promise<WrittenShards> {
    await this.flush();
    const n = this.urls.length;
    const base = this.config.out.replace(/\/+$/, '');
    const pattern = n <= 1 ? (this.urls[0] ?? `${base}/000000.tar`) : `${base}/{000000..${String(n - 1).padStart(6, '0')}}.tar`;
    return { urls: [...this.urls], samples: this.samples, bytes: this.bytes, pattern };
  }

  private async flush(): Promise<void> {
    if (this.keys.length === 0) return;
    const name = `${String(this.urls.length).padStart(6, '0')}.tar`;
    const url = `${this.config.out.replace(/\/+$/, '')}/${name}`;
    const tar = Buffer.concat([...this.members, tarEnd()]);
    const index: ShardIndex = { format: 'fiber-shard-index', version: 1, shard: name, shardBytes: tar.length, keys: this.keys, offsets: this.offsets, sizes: this.sizes, crc32s: this.crc32s };
    await this.store.write(url, tar);
    await this.store.write(indexUrlFor(url), encodeShardIndex(index));
    this.urls.push(url);
    this.samples += this.keys.length;
    this.bytes += tar.length;
    this.members = [];
    this.keys = [];
    this.offsets = [];
    this.sizes = [];
    this.crc32s = [];
    this.offset = 0;
  }
}
