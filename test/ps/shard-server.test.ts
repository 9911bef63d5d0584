import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveRunConfig } from '../../src/config/index.js';
import { localNormExchange } from '../../src/ps/norm-exchange.js';
import type { ParamSpec } from '../../src/ps/param-spec.js';
import { ShardClient } from '../../src/ps/shard-client.js';
import { planLayout, shardSize, shardSlices } from '../../src/ps/shard-layout.js';
import { ShardServer } from '../../src/ps/shard-server.js';
import { ShardState } from '../../src/ps/shard-state.js';
import { encodeFrame, MessageType } from '../../src/ps/wire.js';

const TOKEN = 'test-ps-token-0123456789';
const opt = resolveRunConfig({ preset: 'fiber-tiny', sets: ['optimizer.coarse.gradClipNorm=0.5', 'optimizer.coarse.warmupFraction=0'] }).optimizer.coarse;
const specs: ParamSpec[] = [
  { name: 'w', shape: [300, 400], group: 'backbone', noDecay: false },
  { name: 'b', shape: [400], group: 'head', noDecay: true },
  { name: 'x.alpha_i2t', shape: [1], group: 'fusion', noDecay: true },
];

function logCapture() {
  const lines: string[] = [];
  return { lines, log: pino({ level: 'debug' }, new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } })) };
}

/** S shard states over the same initial parameters, as S processes would hold them. */
function makeShards(S: number, T: number) {
  const layout = planLayout(specs, S);
  const init = Float32Array.from({ length: layout.totalElements }, (_, i) => Math.sin(i * 0.01));
  const exchange = localNormExchange(S);
  return Array.from({ length: S }, (_, s) => {
    const lo = layout.shardStarts[s]!;
    return new ShardState({
      run: 'r', stage: 'coarse', shard: s, flatStart: lo, tasksPerStep: T, version: 0,
      params: init.slice(lo, lo + shardSize(layout, s)), expAvg: new Float32Array(shardSize(layout, s)), expAvgSq: new Float32Array(shardSize(layout, s)),
      slices: shardSlices(layout, specs, s), specs, optimizer: opt,
    }, exchange(s));
  });
}

const gradFor = (step: number, task: number, n: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.003 + task * 1.7 + step) * (task + 1));

describe('parameter-server shard over real TCP', () => {
  const cap = logCapture();
  let state: ShardState;
  let server: ShardServer;
  let port: number;

  before(async () => {
    [state] = makeShards(1, 2) as [ShardState];
    server = new ShardServer({ shard: 0, token: TOKEN, host: '127.0.0.1', port: 0, maxBodyBytes: 64 << 20, log: cap.log, state: () => state });
    port = await server.listen();
  });
  after(() => server.close());

  it('authenticates, waits for the version, dedups pushes and applies after all tasks', async () => {
    const a = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    const b = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    const before = await a.pull('r', 'coarse', 0, 1000);
    assert.equal(before.length, state.size);
    const pulling = b.pull('r', 'coarse', 1, 5000); // blocks until step 0 is applied
    assert.equal(await a.push('r', 'coarse', 0, 1, 4, gradFor(0, 1, state.size)), 'accepted');
    assert.equal(await a.push('r', 'coarse', 0, 1, 4, gradFor(0, 1, state.size)), 'duplicate');
    assert.equal(state.version, 0, 'task 0 still missing');
    assert.equal(await b.push('r', 'coarse', 0, 0, 4, gradFor(0, 0, state.size)), 'accepted');
    const after = await pulling;
    assert.equal(state.version, 1);
    assert.notDeepEqual([...after.subarray(0, 10)], [...before.subarray(0, 10)]);
    assert.equal(await a.push('r', 'coarse', 0, 0, 4, gradFor(0, 0, state.size)), 'stale', 'a retried task of an applied step');
    await assert.rejects(a.push('r', 'coarse', 5, 0, 4, gradFor(5, 0, state.size)), /fiber.ps.bad_push|push for step 5/);
    await assert.rejects(a.pull('r', 'coarse', 0, 100), /version 0 is gone/);
    await assert.rejects(a.pull('other', 'coarse', 1, 100), /not serving other\/coarse/);
    await a.close();
    await a.close();
    await b.close();
  });

  it('rejects a wrong token, garbage and oversized frames, and keeps serving', async () => {
    await assert.rejects(ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, 'wrong-token'), /wrong FIBER_PS_TOKEN/);
    const rawSend = (bytes: Buffer[]) => new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => { for (const b of bytes) s.write(b); });
      s.on('close', () => resolve());
      s.on('error', () => resolve());
      s.resume();
    });
    await rawSend([Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
    const huge = encodeFrame(MessageType.Auth, { mac: 'x' })[0]!;
    huge.writeUInt32LE(0x7fff_fff0, 12); // claims a 2 GiB body
    await rawSend([huge]);
    const dropped = cap.lines.filter((l) => l.includes('parameter-server connection dropped'));
    assert.ok(dropped.some((l) => l.includes('fiber.ps.unauthenticated')));
    assert.ok(dropped.some((l) => l.includes('fiber.ps.bad_magic') || l.includes('fiber.ps.unauthenticated')));
    assert.ok(!cap.lines.join('').includes(TOKEN), 'the token is never logged');
    const c = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    assert.equal((await c.pull('r', 'coarse', 1, 1000)).length, state.size, 'still serving');
    await c.close();
  });
});

describe('ShardState aggregation', () => {
  const runSteps = (S: number, T: number, order: (t: number[]) => number[]) => {
    const shards = makeShards(S, T);
    const layout = planLayout(specs, S);
    return (async () => {
      for (let step = 0; step < 3; step++) {
        for (const t of order([...Array(T).keys()])) {
          const g = gradFor(step, t, layout.totalElements);
          shards.forEach((sh, s) => sh.push(step, t, 3, g.subarray(layout.shardStarts[s], layout.shardStarts[s + 1])));
        }
        await Promise.all(shards.map((sh) => sh.waitForVersion(step + 1, 5000)));
      }
      const out = new Float32Array(layout.totalElements);
      shards.forEach((sh, s) => out.set(sh.params, layout.shardStarts[s]));
      return Buffer.from(out.buffer).toString('base64');
    })();
  };

  it('gives bit-identical parameters whatever the arrival order and the number of shards (with clipping)', async () => {
    const reference = await runSteps(1, 4, (t) => t);
    assert.equal(await runSteps(1, 4, (t) => t.reverse()), reference, 'reverse arrival');
    assert.equal(await runSteps(1, 4, (t) => [2, 0, 3, 1].map((i) => t[i]!)), reference, 'shuffled arrival');
    assert.equal(await runSteps(2, 4, (t) => t), reference, '2 shards');
    assert.equal(await runSteps(3, 4, (t) => t.reverse()), reference, '3 shards, reversed');
  });
});
