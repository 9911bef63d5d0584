import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunConfig } from '../../src/config/index.js';
import { createObjectStore } from '../../src/storage/object-store.js';
import { prepareDemoData, type DemoData } from '../../src/demo/demo-data.js';
import { DEMO_DEFAULTS } from '../../src/demo/demo-options.js';
import { demoConfig } from '../../src/demo/run-demo.js';
import type { EvalResult } from '../../src/eval/index.js';
import { selectBackend } from '../../src/model/backend.js';
import { paramSpecs } from '../../src/model/param-spec.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { exportWeights } from '../../src/model/weight-io.js';
import { runFiber } from '../helpers/cli.js';
import { trainLocally } from '../helpers/local-trainer.js';

/*
 * Issue 7: `fiber eval` on a checkpoint trained on the generated data beats chance by a clear
 * margin, for retrieval and for grounding. The demo's recipe (its config, data and held-out
 * scenes) with fewer steps, trained in this process (test/helpers/local-trainer.ts) so the
 * suite stays within budget; the CLI then evaluates the saved weights on the held-out scenes.
 * On 2 cores the 50 coarse and 60 fine steps take about 4 minutes (the demo's 80 + 90 steps
 * score higher: BENCHMARKS.md).
 */

const COARSE_STEPS = 50;
// The DyHead + ATSS head needs more steps than the FCOS stand-in did (40): at 40 it scored 4.4%
// here (docs/notes.md); the schedule drops the rate x0.1 at 67%.
const FINE_STEPS = 60;

describe('the demo recipe learns the shapes scenes', { timeout: 900_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'fiber-learns-'));
  const store = createObjectStore();
  let data: DemoData;
  let config: RunConfig;
  let coarseWeights: Map<string, Float32Array>;

  before(async () => {
    await selectBackend();
    const o = { ...DEMO_DEFAULTS, out: root, coarseSteps: COARSE_STEPS, fineSteps: FINE_STEPS };
    data = await prepareDemoData(store, o, root);
    config = demoConfig(o, data, join(root, 'checkpoints'));
  });
  after(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const save = (stage: 'coarse' | 'fine', weights: Map<string, Float32Array>) => {
    const file = join(root, `${stage}.safetensors`);
    writeFileSync(file, writeSafetensors(exportWeights(paramSpecs(config.model, stage), weights)));
    return file;
  };
  const evaluate = async (file: string, task: 'retrieval' | 'grounding', shards: readonly string[]) => {
    const res = await runFiber(['eval', '--checkpoint', file, '--data', ...shards, '--task', task, '--preset', 'fiber-tiny', '--json']);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as EvalResult;
  };

  it(`retrieval: ${COARSE_STEPS} coarse steps from scratch beat chance on held-out scenes`, async (t) => {
    const { weights, losses } = await trainLocally(config, 'coarse', store);
    coarseWeights = weights;
    const r = await evaluate(save('coarse', weights), 'retrieval', data.evalCoarseShards);
    assert.equal(r.n, DEMO_DEFAULTS.evalImages);
    const s = r.scores, c = r.chance;
    const msg = `scores ${JSON.stringify(s)}, chance ${JSON.stringify(c)}, ITC ${losses[0]!.itc} -> ${losses.at(-1)!.itc}`;
    t.diagnostic(msg);
    // ITC left its collapse value ln(8) behind (it pins there when the encoders collapse).
    assert.ok(losses.at(-1)!.itc! < Math.log(8) - 0.1, msg);
    assert.ok(s.r_mean! >= 2 * c.r_mean!, `mean recall at least twice chance: ${msg}`);
    assert.ok(s.i2t_r5! >= 2 * c.i2t_r5! && s.t2i_r5! >= 2 * c.t2i_r5!, `R@5 at least twice chance both ways: ${msg}`);
  });

  it(`grounding: ${FINE_STEPS} fine steps from that checkpoint beat chance on held-out scenes`, async (t) => {
    assert.ok(coarseWeights, 'the coarse test ran first');
    const { weights } = await trainLocally(config, 'fine', store, coarseWeights);
    const g = await evaluate(save('fine', weights), 'grounding', data.evalFineShards);
    const acc = g.scores['acc@0.5']!, chance = g.chance['acc@0.5']!;
    t.diagnostic(`acc@0.5 ${acc} vs chance ${chance}, oracle ${g.scores['oracle@0.5']}, ${g.n} phrases`);
    assert.ok(g.n > 50, `phrases evaluated: ${g.n}`);
    assert.ok(acc >= 4 * chance && acc >= 0.08, `acc@0.5 ${acc} vs chance ${chance} (oracle ${g.scores['oracle@0.5']})`);
  });
});
