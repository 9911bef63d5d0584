/**
 * bench/chaos (issue 17 item 5): a coarse stage of fiber-tiny (≥ 100 steps, 2 workers, 2 shards,
 * global batch 4, the 64 px shapes dataset, file checkpoints every step, a local redis-server with
 * AOF everysec) run twice in one invocation: undisturbed first, then under a seeded chaos driver
 * that every few seconds SIGKILLs a random worker or shard other than 0 (the demo's supervisor,
 * src/demo/child-services.ts, restarts it), restarts Redis, or makes the next S3 requests fail
 * (500s, a PUT cut half-way, 503 SlowDown, a reset GET: data and checkpoints live in a local S3
 * server that the services reach through a fault-injecting proxy). At the end: both runs' final
 * sha256 (must be equal), the chaos run's `fiber ledger --verify` (samples lost and duplicated:
 * 0), goodput, and the time lost per fault.
 *
 *   npm run bench:chaos                 # 100 steps, a fault every 8 s
 *   node dist/bench/chaos.js --quick    # 20 steps, 4 faults
 *   node dist/bench/chaos.js [--steps N] [--workers W] [--every S] [--faults N] [--seed N]
 *     [--storage s3|file] [--kinds kill-worker,kill-shard,restart-redis,s3-errors]
 *     [--checkpoint-every N (default 5 on S3: 60 MB a checkpoint through s3rver; 1 on file)] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAULT_KINDS, openChaosStorage, prepareChaosData, trainWithChaos, type ChaosConfig, type FaultKind } from './chaos-run.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const storageKind = arg('storage', 's3');
const kinds = arg('kinds', FAULT_KINDS.join(',')).split(',') as FaultKind[];
for (const k of kinds) if (!FAULT_KINDS.includes(k)) usage(`--kinds: unknown fault "${k}" (expected ${FAULT_KINDS.join(', ')})`);
if (storageKind !== 's3' && storageKind !== 'file') usage(`--storage: expected s3 or file, got "${storageKind}"`);
const root = mkdtempSync(join(tmpdir(), 'fiber-bench-chaos-'));
const config: ChaosConfig = {
  root, steps: Number(arg('steps', quick ? '20' : '100')), workers: Number(arg('workers', '2')), shards: 2, kinds,
  checkpointEvery: Number(arg('checkpoint-every', storageKind === 's3' ? '5' : '1')),
  seed: Number(arg('seed', '16')), everySeconds: Number(arg('every', quick ? '6' : '8')), maxFaults: Number(arg('faults', quick ? '4' : '1000')),
};
const load0 = loadavg();
const storage = await openChaosStorage(root, storageKind);
try {
  const shards = await prepareChaosData(storage);
  const reference = await trainWithChaos(config, storage, shards, 'undisturbed', false);
  const chaos = await trainWithChaos(config, storage, shards, 'chaos', true);
  const byKind = Object.fromEntries(kinds.map((k) => {
    const fs = chaos.faults.filter((f) => f.kind === k);
    const rec = fs.map((f) => f.recoveredAfter).filter((x): x is number => x !== null);
    const mean = rec.length ? rec.reduce((s, x) => s + x, 0) / rec.length : null;
    return [k, { injected: fs.length, recoveredSeconds: mean === null ? null : round(mean), lostSecondsPerFault: mean === null ? null : round(Math.max(0, mean - reference.medianStep)) }];
  }));
  const result = {
    bench: 'chaos', date: new Date().toISOString(), cores: cpus().length, loadavg: { start: load0.map(round), end: loadavg().map(round) },
    config: { ...config, root: undefined, model: 'fiber-tiny', globalBatch: 4, storage: storageKind },
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
  await storage.close();
  rmSync(root, { recursive: true, force: true });
} catch (err) {
  // Keep the services' logs (and, with file storage, the checkpoints) for a post-mortem.
  process.stderr.write(`bench/chaos failed; logs kept in ${root}\n`);
  await storage.close();
  throw err;
}

function usage(message: string): never {
  process.stderr.write(`bench/chaos: ${message}\n`);
  process.exit(2);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
