import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { createObjectStore, type ObjectStore } from '../../src/storage/object-store.js';
import { s3ConfigFromEnv } from '../../src/storage/s3-config.js';
import { DEFAULT_RETRY } from '../../src/storage/retry.js';
import { indexUrlFor } from '../../src/data/webdataset/shard-index.js';
import { cocoDevDir, repoRoot } from '../helpers/coco-dev.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const run = promisify(execFile);
const fiber = join(repoRoot(), 'bin', 'fiber');
const coco = cocoDevDir();
const skip = coco.skip;
let s3: S3TestServer;
let store: ObjectStore;
let tmp: string;

/** Run the real CLI against the test S3 server; never throws, returns code and output. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [fiber, ...args], { env: { ...process.env, ...s3.env, FIBER_LOG_LEVEL: 'silent' }, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  s3 = await startS3Server();
  store = createObjectStore({ s3: { ...s3ConfigFromEnv(s3.env), credentials: s3.credentials }, retry: DEFAULT_RETRY });
  tmp = await mkdtemp(join(tmpdir(), 'fiber-cli-'));
});
after(async () => {
  await store.close();
  await s3.close();
  await rm(tmp, { recursive: true, force: true });
});

test('fiber --help lists data commands without loading the AWS SDK or sharp', async () => {
  const program = join(repoRoot(), 'dist', 'src', 'cli', 'program.js');
  const script = `
    const { createRequire } = await import('node:module');
    const { buildProgram } = await import(${JSON.stringify(program)});
    const p = buildProgram();
    p.configureOutput({ writeOut: (s) => process.stdout.write(s) });
    try { await p.parseAsync(['node', 'fiber', 'data', '--help']); } catch {}
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /@aws-sdk|[\\\\/]sharp[\\\\/]/.test(k));
    process.stdout.write('LOADED=' + JSON.stringify(loaded));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  assert.match(stdout, /pack \[options\]/);
  assert.match(stdout, /verify \[options\] <urls\.\.\.>/);
  assert.match(stdout, /LOADED=\[\]/);
});

test('fiber data pack: a missing flag is a usage error (exit 2) naming it', async () => {
  const r = await cli(['data', 'pack', '--from', 'coco', '--images', tmp, '--out', tmp]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--captions/);
});

test('pack coco-dev to S3, verify it clean, then verify a corrupted copy: exit 1 with keys and reasons; index and inspect --png', { skip }, async () => {
  const dir = coco.dir as string;
  const out = `s3://${s3.bucket}/cli`;
  const packed = await cli(['data', 'pack', '--from', 'coco-dev', '--images', join(dir, 'images'), '--annotations', join(dir, 'annotations.jsonl'), '--out', out, '--samples-per-shard', '40', '--json']);
  assert.equal(packed.code, 0, packed.stderr);
  const result = JSON.parse(packed.stdout) as { coarse: { pattern: string; samples: number; urls: string[] } };
  assert.equal(result.coarse.samples, 101);
  assert.equal(result.coarse.pattern, `${out}/coarse/{000000..000002}.tar`);
  // Progress goes to stderr as plain lines off a terminal (stdout above stayed pure JSON), ending at the total.
  assert.match(packed.stderr, /^fiber: packing \[#+\] (\d+)\/\1 samples \(100%\)$/m);
  assert.doesNotMatch(packed.stderr, /\r|\x1b\[/, 'no bar redraws off a terminal');
  assert.doesNotMatch(packed.stderr, /NodeVersionSupportWarning/, 'the pinned AWS SDK\'s Node-version notice stays out of the output');

  const clean = await cli(['data', 'verify', result.coarse.pattern]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /OK: 3 shards, 101 samples, 101 good/);
  assert.match(clean.stderr, /fiber: verifying \[#+\] 3\/3 shards \(100%\)/);

  // Corrupt copy of shard 0: flip bytes inside the second sample's JPEG, cut the tar in the middle of a later sample.
  const url = result.coarse.urls[0] as string;
  const index = JSON.parse((await store.read(indexUrlFor(url))).toString()) as { keys: string[]; offsets: number[]; sizes: number[] };
  const bytes = Buffer.from(await store.read(url));
  const s1 = (index.offsets[1] as number) + 512 + 200;
  for (let i = s1; i < s1 + 2000; i += 50) bytes[i] = (bytes[i] ?? 0) ^ 0xa5;
  const cut = (index.offsets[5] as number) + 3000;
  const badUrl = `s3://${s3.bucket}/corrupt/000000.tar`;
  await store.write(badUrl, bytes.subarray(0, cut));
  const reindexed = await cli(['data', 'index', badUrl]);
  assert.equal(reindexed.code, 0, reindexed.stderr);
  assert.match(reindexed.stdout, /: 5 samples/);
  assert.match(reindexed.stdout, /truncated_tar/);
  const verify = await cli(['data', 'verify', badUrl, '--json']);
  assert.equal(verify.code, 1);
  const report = JSON.parse(verify.stdout) as { ok: boolean; bad: Array<{ key: string; reason: string }> };
  assert.equal(report.ok, false);
  assert.deepEqual(report.bad.map((b) => `${b.key}:${b.reason}`), [`${index.keys[1]}:undecodable_image`, `${index.keys[5]}:truncated_tar`]);

  const png = join(tmp, 'sheet.png');
  const inspect = await cli(['data', 'inspect', `${out}/fine/000000.tar`, '--n', '4', '--png', png]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /phrases: /);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 4 * 320);
});

test('a missing S3 object is a runtime error (exit 1) naming bucket and key', async () => {
  const r = await cli(['data', 'index', `s3://${s3.bucket}/nope/000000.tar`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /fiber-test/);
  assert.match(r.stderr, /nope\/000000\.tar/);
  assert.doesNotMatch(r.stderr + r.stdout, /S3RVER/, 'credentials never printed');
});
