import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PORTS } from '../../src/ops/env-contract.js';
import { MALLOC_TUNING } from '../../src/ops/malloc-tuning.js';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * No Docker daemon here: the Dockerfiles are checked as text for the properties issue 6 asks for.
 * Building them needs a machine with Docker and internet (k8s/README.md).
 */
interface Instruction { readonly op: string; readonly args: string; readonly stage: number }

function instructions(file: string): Instruction[] {
  const text = readFileSync(resolve(REPO_ROOT, file), 'utf8').replace(/\\\n/g, ' ');
  let stage = -1;
  const out: Instruction[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `${file}: cannot parse "${line}"`);
    if (m[1] === 'FROM') stage += 1;
    out.push({ op: m[1]!, args: m[2]!, stage });
  }
  return out;
}

const SECRETISH = /(PASSWORD|SECRET|TOKEN|ACCESS_KEY|CREDENTIAL)/i;

for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
  describe(file, () => {
    const ins = instructions(file);
    const lastStage = Math.max(...ins.map((i) => i.stage));
    const final = ins.filter((i) => i.stage === lastStage);

    it('is multi-stage and the final stage runs as a non-root user under tini', () => {
      assert.ok(lastStage >= 2, 'build, deps and runtime stages');
      const user = final.filter((i) => i.op === 'USER').at(-1);
      assert.ok(user, 'final stage sets USER');
      assert.match(user.args, /^[1-9][0-9]*:[1-9][0-9]*$/, 'numeric non-root uid:gid (runAsNonRoot can verify it)');
      assert.equal(user.args.split(':')[0], '10001', 'the uid the manifests run as');
      const entry = final.find((i) => i.op === 'ENTRYPOINT');
      assert.deepEqual(JSON.parse(entry!.args), ['/usr/bin/tini', '--', 'node', '/app/bin/fiber']);
    });

    it('installs production dependencies with npm ci --omit=dev and no install scripts but the approved one', () => {
      const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
      const prod = runs.find((r) => /npm ci/.test(r) && /--omit=dev/.test(r));
      assert.ok(prod, 'npm ci --omit=dev');
      for (const r of runs.filter((x) => /npm ci/.test(x))) assert.match(r, /--ignore-scripts/, `every npm ci ignores scripts: ${r}`);
      assert.ok(!final.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args)), 'the runtime stage installs nothing from npm');
    });

    it('bakes in no secret and exposes the contract ports', () => {
      for (const i of ins.filter((x) => x.op === 'ENV' || x.op === 'ARG')) assert.doesNotMatch(i.args, SECRETISH, `${i.op} ${i.args}`);
      for (const i of ins.filter((x) => x.op === 'COPY')) assert.doesNotMatch(i.args, /\.env|secret|\.npmrc|\.pem|\.key\b/i, `COPY ${i.args}`);
      const exposed = final.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number));
      assert.ok(exposed.includes(PORTS.metrics));
      if (file === 'Dockerfile') assert.ok(exposed.includes(PORTS.psTensor));
    });

    it('sets the malloc tuning of src/ops/malloc-tuning.ts for every fiber process', () => {
      const env = final.filter((i) => i.op === 'ENV').flatMap((i) => i.args.split(/\s+/));
      for (const [k, v] of Object.entries(MALLOC_TUNING)) assert.ok(env.includes(`${k}=${v}`), `ENV ${k}=${v}`);
    });
  });
}

describe('Dockerfile.gpu', () => {
  const ins = instructions('Dockerfile.gpu');
  it('uses a CUDA 11.2 + cuDNN 8 runtime base, what tfjs-node-gpu 4.22 (libtensorflow 2.9.1) links', () => {
    const arg = ins.find((i) => i.op === 'ARG' && i.args.startsWith('CUDA_IMAGE='));
    assert.match(arg!.args, /^CUDA_IMAGE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu20\.04$/);
    assert.ok(ins.some((i) => i.op === 'FROM' && /\$\{CUDA_IMAGE\}/.test(i.args)));
    const lock = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    assert.match(lock.packages['node_modules/@tensorflow/tfjs-node-gpu']?.version ?? '', /^4\.22\./, 'the lockfile pins the tfjs-node-gpu this base was chosen for');
  });

  it('runs tfjs-node-gpu\'s install script explicitly and fails the build without the native binding', () => {
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /npm rebuild @tensorflow\/tfjs-node-gpu/.test(r)));
    assert.ok(runs.some((r) => /tfjs_binding\.node/.test(r) && /exit 1/.test(r)));
    assert.ok(runs.some((r) => /require\('@tensorflow\/tfjs-node-gpu'\)/.test(r)), 'the binding loads on the runtime base');
  });
});

describe('.dockerignore', () => {
  it('keeps secrets, local state and node_modules out of the build context', () => {
    const lines = readFileSync(resolve(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const want of ['.git', 'node_modules', 'dist', '.env', '.env.*']) assert.ok(lines.includes(want), want);
  });
});
