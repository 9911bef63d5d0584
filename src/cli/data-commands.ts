import { Command, InvalidArgumentError, Option } from 'commander';
import type { GlobalOptions } from './program.js';

/** `--n 8` style integers >= 1. */
function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

/** `--seed 0` style integers >= 0. */
function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

/**
 * `fiber data ...`: pack, index, verify and inspect webdataset shards. Declarations only; each
 * action imports its implementation when it runs, so `fiber --help` loads neither the AWS SDK
 * nor sharp.
 */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('webdataset shards on s3://, file:// or http(s)://: pack, synth, index, verify, inspect');

  data
    .command('pack')
    .description('turn COCO captions/instances, MDETR grounding or COCO-format detection annotations, coco-dev annotations.jsonl or an image+.txt folder into shards (and their indexes)')
    .addOption(new Option('--from <format>', 'input format').choices(['coco', 'coco-dev', 'mdetr', 'detection', 'folder']).makeOptionMandatory())
    .option('--images <dir>', 'folder of images (coco, coco-dev, mdetr, detection) or of image + .txt pairs (folder)')
    .option('--captions <file>', 'COCO captions JSON (captions_train2017.json); --from coco')
    .option('--instances <file>', 'COCO-format instances JSON (COCO, Objects365): fine-stage detection shards (category prompts); --from coco or detection')
    .option('--annotations <file>', 'coco-dev annotations.jsonl (--from coco-dev) or an MDETR annotation JSON such as final_flickr_separateGT_train.json (--from mdetr)')
    .option('--vg-images <dir>', 'images of MDETR records whose data_source is "vg" (final_mixed_*); default --images; --from mdetr')
    .requiredOption('--out <url>', 'folder URL for the shards: coarse/ and fine/ are created under it')
    .option('--samples-per-shard <n>', 'samples per shard', positiveInt, 1000)
    .option('--json', 'print the result as JSON')
    .action(async (opts: DataPackOptions, cmd: Command) => {
      const { runDataPack } = await import('./commands/data-pack.js');
      await runDataPack(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  data
    .command('synth')
    .description('generate the "shapes" dataset (coloured shapes, captions with relations, phrase boxes) and pack it into coarse and fine shards')
    .requiredOption('--out <url>', 'folder URL for the shards: coarse/ and fine/ are created under it')
    .option('--count <n>', 'scenes (one coarse and one fine sample each)', positiveInt, 512)
    .option('--seed <n>', 'same seed, same shards byte for byte', nonNegativeInt, 0)
    .option('--size <px>', 'image side in pixels (32 to 1024)', positiveInt, 64)
    .option('--samples-per-shard <n>', 'samples per shard', positiveInt, 1000)
    .option('--json', 'print the result as JSON')
    .action(async (opts: DataSynthOptions, cmd: Command) => {
      const { runDataSynth } = await import('./commands/data-synth.js');
      await runDataSynth(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  data
    .command('index')
    .description('build the per-shard index (keys, byte offsets, sizes) next to each shard')
    .argument('<urls...>', 'shard URLs or brace patterns, e.g. s3://bucket/cc3m/{000000..000331}.tar')
    .option('--concurrency <n>', 'shards indexed at once', positiveInt, 4)
    .option('--json', 'print the result as JSON')
    .action(async (urls: string[], opts: DataIndexOptions, cmd: Command) => {
      const { runDataIndex } = await import('./commands/data-index.js');
      await runDataIndex(urls, opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  data
    .command('verify')
    .description('read and decode every sample; report bad ones by key and reason (exit 1 if any)')
    .argument('<urls...>', 'shard URLs or brace patterns')
    .option('--json', 'print the report as JSON')
    .action(async (urls: string[], opts: DataVerifyOptions, cmd: Command) => {
      const { runDataVerify } = await import('./commands/data-verify.js');
      await runDataVerify(urls, opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  data
    .command('inspect')
    .description('print the first samples of a shard; --png draws them with their boxes and captions')
    .argument('<url>', 'one shard URL')
    .option('--n <n>', 'samples to show', positiveInt, 8)
    .option('--png <out>', 'write a contact sheet PNG to this path')
    .option('--json', 'print the samples as JSON')
    .action(async (url: string, opts: DataInspectOptions, cmd: Command) => {
      const { runDataInspect } = await import('./commands/data-inspect.js');
      await runDataInspect(url, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
}

export interface DataPackOptions {
  readonly from: 'coco' | 'coco-dev' | 'mdetr' | 'detection' | 'folder';
  readonly images?: string;
  readonly vgImages?: string;
  readonly captions?: string;
  readonly instances?: string;
  readonly annotations?: string;
  readonly out: string;
  readonly samplesPerShard: number;
  readonly json?: boolean;
}

export interface DataSynthOptions {
  readonly out: string;
  readonly count: number;
  readonly seed: number;
  readonly size: number;
  readonly samplesPerShard: number;
  readonly json?: boolean;
}

export interface DataIndexOptions {
  readonly concurrency: number;
  readonly json?: boolean;
}

export interface DataVerifyOptions {
  readonly json?: boolean;
}

export interface DataInspectOptions {
  readonly n: number;
  readonly png?: string;
  readonly json?: boolean;
}
