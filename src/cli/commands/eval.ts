import { evaluateCheckpoint } from '../../eval/evaluate-checkpoint.js';
import type { EvalResult } from '../../eval/eval-result.js';
import type { EvalCommandOptions } from '../eval-commands.js';
import { printJson, printLines } from '../output.js';
import type { GlobalOptions } from '../program.js';
import { renderEvalResult } from '../render-eval.js';
import { dataContext } from './data-context.js';
import { createProgress, type Progress } from '../progress.js';

/** `fiber eval`: the same storage setup as the data commands, one evaluation, a table or JSON. */
export async function runEval(opts: EvalCommandOptions, globals: GlobalOptions): Promise<void> {
  const { store, log } = dataContext(globals);
  let result: EvalResult;
  // One progress line per phase (encode, rerank, ground): each has its own count.
  const phases = new Map<string, Progress>();
  try {
    result = await evaluateCheckpoint(store, {
      checkpoint: opts.checkpoint, data: opts.data, task: opts.task, batchSize: opts.batchSize,
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      ...(opts.rerank !== undefined ? { rerank: opts.rerank } : {}),
      ...(opts.preset !== undefined ? { preset: opts.preset } : {}),
      ...(opts.tokenizer !== undefined ? { tokenizer: opts.tokenizer } : {}),
      onProgress: (p) => {
        log.debug(p, 'eval progress');
        for (const [name, other] of phases) if (name !== p.phase) other.finish();
        let bar = phases.get(p.phase);
        if (!bar) phases.set(p.phase, (bar = createProgress(`eval ${p.phase}`, p.phase === 'rerank' ? 'pairs' : 'samples')));
        bar.update(p.done, p.total);
      },
    });
    for (const bar of phases.values()) bar.finish();
  } finally {
    await store.close();
  }
  if (opts.json) printJson(result);
  else printLines(renderEvalResult(result));
}
