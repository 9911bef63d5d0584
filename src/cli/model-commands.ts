import { Command, Option } from 'commander';
import type { GlobalOptions } from './program.js';
import { MODEL_PRESET_NAMES } from '../model/model-config.js';
import { tokenizerLocation } from './tokenizer-option.js';

/**
 * `fiber model info|init|forward|export`. Actions import their implementation lazily so `fiber --help`
 * never loads TensorFlow.js.
 */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('inspect, initialise and run the FIBER model (TensorFlow.js)');
  const preset = () => new Option('--preset <name>', 'model size preset').choices([...MODEL_PRESET_NAMES]).makeOptionMandatory();

  model.command('info')
    .description('parameter counts per component and the TensorFlow.js backend in use')
    .addOption(preset())
    .option('--json', 'print JSON')
    .action(async (opts: { preset: string; json?: boolean }) => {
      const { modelInfo } = await import('./commands/model-info.js');
      await modelInfo(opts);
    });

  model.command('init')
    .description('write seeded initial weights as safetensors (reference parameter names)')
    .addOption(preset())
    .addOption(new Option('--stage <stage>', 'coarse or fine parameter set').choices(['coarse', 'fine']).default('coarse'))
    .option('--seed <n>', 'integer seed', '0')
    .requiredOption('--out <file>', 'output .safetensors path')
    .option('--timm-swin <file>', 'start the image backbone from a timm Swin .safetensors (names by timm)')
    .option('--hf-roberta <file>', 'start the text backbone from a Hugging Face RoBERTa .safetensors (needs --tokenizer)')
    .option('--tokenizer <dir>', 'the tokenizer the weights go with (folder/URL with tokenizer.json, or vocab.json + merges.txt), recorded in the output; with --hf-roberta, roberta-base\'s files', tokenizerLocation)
    .action(async (opts: { preset: string; stage: string; seed: string; out: string; timmSwin?: string; hfRoberta?: string; tokenizer?: string }) => {
      const { modelInit } = await import('./commands/model-init.js');
      await modelInit(opts);
    });

  model.command('forward')
    .description('run the coarse model on inputs from a safetensors file and write its outputs by name')
    .addOption(preset())
    .requiredOption('--weights <file>', 'coarse weights (.safetensors, from `fiber model init` or an export)')
    .option('--inputs <file>', 'pixel_values [B,3,S,S] f32, input_ids and attention_mask [B,L] i32 (needed unless --mode text with --text)')
    .option('--text <texts...>', 'texts to tokenize as input_ids and attention_mask instead of those in --inputs')
    .option('--tokenizer <dir>', 'tokenizer for --text (folder/URL with tokenizer.json, or vocab.json + merges.txt); default: the one the weights record, else the default', tokenizerLocation)
    .requiredOption('--out <file>', 'output .safetensors path')
    .addOption(new Option('--mode <mode>', 'which encoder to run').choices(['image', 'text', 'fusion']).default('fusion'))
    .action(async (opts: { preset: string; weights: string; inputs?: string; text?: string[]; tokenizer?: string; out: string; mode: string }) => {
      const { modelForward } = await import('./commands/model-forward.js');
      await modelForward(opts);
    });

  model.command('export')
    .description('write any step\'s checkpoint as one PyTorch-loadable folder: model.safetensors (reference names, no optimizer state) + config.json + tokenizer files')
    .argument('<checkpoint>', 'a step directory (…/coarse/step-00000050) or a stage directory (its latest), local, file:// or s3://')
    .requiredOption('--out <dir>', 'new or empty output folder (local, file:// or s3://)')
    .option('--json', 'print what was written as JSON')
    .action(async (checkpoint: string, opts: { out: string; json?: boolean }, cmd: Command) => {
      const { modelExport } = await import('./commands/model-export.js');
      await modelExport(checkpoint, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
}
