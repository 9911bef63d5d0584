/**
 * bench/chaos (issue 17 item 5): a coarse stage of fiber-tiny (≥ 100 steps, 2 workers, 2 shards,
 * global batch 4, the 64 px shapes dataset, file checkpoints every step, a local redis-server with
 * AOF everysec) run twice in one invocation: undisturbed first, then under a seeded chaos driver
 * that every few seconds SIGKILLs a random worker or shard other than 0 (the demo's supervisor,
 * src/demo/child-services.ts, restarts it) or restarts Redis. At the end: both runs' final sha256
 * (must be equal), the chaos run's `fiber ledger --verify` (samples lost and duplicated: 0),
 * goodput, and the time lost per fault. Storage is file://, so no S3 faults are injected here
 * (test/ps/checkpoint-faults.test.ts covers them).
 *
 *   npm run bench:chaos                 # 100 steps, a fault every 8 s
 *   node dist/bench/chaos.js --quick    # 20 steps, 3 faults
 *   node dist/bench/chaos.js [--steps N] [--workers W] [--every S] [--faults N] [--seed N] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareChaosData, trainWithChaos, type ChaosConfig, type FaultKind } from './chaos-run.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const root = mkdtempSync(join(tmpdir(), 'fiber-bench-chaos-'));
const config: ChaosConfig = {
  root, steps: Number(arg('steps', quick ? '20' : '100')), workers: Number(arg('workers', '2')), shards: 2,
  seed: Number(arg('seed', '16')), everySeconds: Number(arg('every', quick ? '6' : '8')), maxFaults: Number(arg('faults', quick ? '3' : '1000')),
};
const load0 = loadavg();
try {
  const shards = await prepareChaosData(root);
  const reference = await trainWithChaos(config, shards, 'undisturbed', false);
  const chaos = await trainWithChaos(config, shards, 'chaos', true);
  const kinds: FaultKind[] = ['kill-worker', 'kill-shard', 'restart-redis'];
  const byKind = Object.fromEntries(kinds.map((k) => {
    const fs = chaos.faults.filter((f) => f.kind === k);
    const rec = fs.map((f) => f.recoveredAfter).filter((x): x is number => x !== null);
    const mean = rec.length ? rec.reduce((s, x) => s + x, 0) / rec.length : null;
    return [k, { injected: fs.length, recoveredSeconds: mean === null ? null : round(mean), lostSecondsPerFault: mean === null ? null : round(Math.max(0, mean - reference.medianStep)) }];
  }));
  const result = {
    bench: 'chaos', date: new Date().toISOString(), cores: cpus().length, loadavg: { start: load0.map(round), end: loadavg().map(round) },
    config: { ...config, root: undefined, model: 'fiber-tiny', globalBatch: 4, storage: 'file' },
    bitIdentical: chaos.sha256 === reference.sha256, sha256: { undisturbed: reference.sha256, chaos: chaos.sha256 },
    faults: chaos.faults.length, survived: chaos.state === 'completed' ? chaos.faults.length : 0, byKind,
    samples: { consumed: chaos.ledger.samples, expected: chaos.ledger.expected, lost: chaos.ledger.missing, duplicated: chaos.ledger.duplicated, ledgerOk: chaos.ledger.ok, idsVerified: chaos.ledger.idsVerified },
    seconds: { undisturbed: round(reference.seconds), chaos: round(chaos.seconds), lostPerFault: chaos.faults.length ? round((chaos.seconds - reference.seconds) / chaos.faults.length) : 0 },
    goodput: { undisturbed: round(reference.goodput), chaos: round(chaos.goodput), wallClock: round(reference.seconds / chaos.seconds) },
    medianStepSeconds: { undisturbed: round(reference.medianStep), chaos: round(chaos.medianStep) },
    restarts: chaos.restarts, faultLog: chaos.faults,
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`${JSON.stringify(result)}\n\n`);
    process.stdout.write(`bit-identical: ${String(result.bitIdentical)}; ledger ${chaos.ledger.ok ? 'OK' : 'FAILED'}: ${chaos.ledger.samples} of ${chaos.ledger.expected} samples, lost ${chaos.ledger.missing}, duplicated ${chaos.ledger.duplicated}\n`);
    process.stdout.write(`wall: undisturbed ${result.seconds.undisturbed} s, chaos ${result.seconds.chaos} s (${result.seconds.lostPerFault} s lost per fault); goodput (compute/step wall) ${result.goodput.undisturbed} -> ${result.goodput.chaos}\n\n`);
    process.stdout.write('| fault | injected | survived | mean s to next step | s lost per fault (minus a median step) |\n| --- | --- | --- | --- | --- |\n');
    for (const k of kinds) {
      const r = byKind[k]!;
      process.stdout.write(`| ${k} | ${r.injected} | ${chaos.state === 'completed' ? r.injected : 0} | ${r.recoveredSeconds ?? '-'} | ${r.lostSecondsPerFault ?? '-'} |\n`);
    }
  }
  if (!result.bitIdentical || !chaos.ledger.ok) process.exitCode = 1;
  rmSync(root, { recursive: true, force: true });
} catch (err) {
  // Keep the services' logs and the checkpoints for a post-mortem (`fiber ledger` runs on them).
  process.stderr.write(`bench/chaos failed; logs and checkpoints kept in ${root}\n`);
  throw err;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
