import { Command, InvalidArgumentError, Option } from 'commander';
import { EVAL_TASKS, type EvalTask } from '../queue/eval-job.js';
import { MODEL_PRESET_NAMES } from '../model/model-config.js';
import type { GlobalOptions } from './program.js';
import { tokenizerLocation } from './tokenizer-option.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

/**
 * `fiber eval`: zero-shot scores of a checkpoint. Declaration only; the action imports the
 * implementation (and with it TensorFlow.js) when it runs.
 */
export function registerEvalCommands(program: Command): void {
  program
    .command('eval')
    .description('zero-shot image-text retrieval (coarse checkpoint) or phrase grounding (fine checkpoint) on packed shards')
    .requiredOption('--checkpoint <uri>', 'a step directory, a stage directory (its latest step) or a .safetensors file (s3://, file:// or a path)')
    .requiredOption('--data <urls...>', 'shard URLs or brace patterns: image-caption shards for retrieval, fine grounding shards for grounding')
    .addOption(new Option('--task <task>', 'what to measure').choices([...EVAL_TASKS]).makeOptionMandatory())
    .option('--limit <n>', 'evaluate the first N usable samples only', positiveInt)
    .option('--rerank <k>', 'retrieval: re-rank each query\'s ITC top K with the ITM head (costs 2 x N x K fusion passes at most)', positiveInt)
    .addOption(new Option('--preset <name>', 'model preset of a .safetensors file that records none').choices([...MODEL_PRESET_NAMES]))
    .option('--tokenizer <dir>', 'tokenizer folder/URL (tokenizer.json, or vocab.json + merges.txt) for a checkpoint that records none; default: the checkpoint\'s own (its run\'s data.tokenizer)', tokenizerLocation)
    .option('--batch-size <n>', 'samples per forward pass', positiveInt, 16)
    .option('--json', 'print the result as JSON')
    .action(async (opts: EvalCommandOptions, cmd: Command) => {
      const { runEval } = await import('./commands/eval.js');
      await runEval(opts, cmd.optsWithGlobals<GlobalOptions>());
    });
}

export interface EvalCommandOptions {
  readonly checkpoint: string;
  readonly data: string[];
  readonly task: EvalTask;
  readonly limit?: number;
  readonly rerank?: number;
  readonly preset?: string;
  readonly tokenizer?: string;
  readonly batchSize: number;
  readonly json?: boolean;
}
