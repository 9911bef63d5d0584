import { DEFAULT_CHAOS_SECONDS, type DemoCliOptions } from '../demo-commands.js';
import { DEMO_DEFAULTS, type DemoOptions } from '../../demo/demo-options.js';
import { runDemo } from '../../demo/run-demo.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';
import { demoProgressLine, renderDemoSummary } from '../render-demo.js';

/**
 * Runs the demo in the foreground with live progress (one line redrawn on a terminal, a line per
 * change of step decile otherwise, always on stderr with --json). Ctrl-C stops every process the
 * demo started and exits 130.
 */
export async function demo(opts: DemoCliOptions, ctx: CliContext): Promise<void> {
  const o: DemoOptions = {
    workers: opts.workers, shards: opts.shards,
    coarseSteps: opts.coarseSteps ?? opts.steps ?? DEMO_DEFAULTS.coarseSteps,
    fineSteps: opts.fineSteps ?? opts.steps ?? DEMO_DEFAULTS.fineSteps,
    ...(opts.data ? { data: opts.data } : {}),
    out: opts.out, seed: opts.seed, trainImages: opts.images, evalImages: opts.evalImages,
    ...(opts.chaos !== undefined ? { chaos: { everySeconds: opts.chaos === true ? DEFAULT_CHAOS_SECONDS : opts.chaos, seed: opts.chaosSeed ?? opts.seed } } : {}),
  };
  const tty = Boolean(process.stderr.isTTY);
  const err = process.stderr;
  let live = false;
  let lastKey = '';
  const endLive = () => {
    if (live) err.write('\n');
    live = false;
  };
  const abort = new AbortController();
  const onSignal = () => {
    endLive();
    err.write('stopping: shutting down the workers, shards and Redis the demo started...\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runDemo(o, {
      phase: (m) => {
        endLive();
        err.write(`> ${m}\n`);
      },
      incident: (m) => {
        endLive();
        err.write(`! ${m}\n`);
      },
      progress: (report) => {
        const line = demoProgressLine(report);
        if (tty) {
          err.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
          live = true;
          return;
        }
        const s = report.runs[0]?.stages.find((x) => x.state === 'running');
        const key = s ? `${s.stage}:${Math.floor((10 * (s.step ?? 0)) / s.totalSteps)}` : '';
        if (key && key !== lastKey) err.write(`${line}\n`);
        lastKey = key || lastKey;
      },
    }, ctx.log, abort.signal);
    endLive();
    if (opts.json) printJson(summary);
    else process.stdout.write(`${renderDemoSummary(summary)}\n`);
  } catch (e) {
    endLive();
    if (abort.signal.aborted) {
      err.write('demo stopped; everything it started has exited\n');
      process.exitCode = 130;
      return;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
