import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveRunConfig } from '../../src/config/index.js';
import { adamwUpdate } from '../../src/ps/adamw.js';
import { lrFactor } from '../../src/ps/lr-schedule.js';
import { localNormExchange } from '../../src/ps/norm-exchange.js';
import { lrMultiplier } from '../../src/ps/lr-multiplier.js';
import { numel, type ServerParamSpec as ParamSpec } from '../../src/model/param-spec.js';
import { ShardClient } from '../../src/ps/shard-client.js';
import { planLayout, shardSize, shardSlices } from '../../src/stage/shard-layout.js';
import { ShardServer } from '../../src/ps/shard-server.js';
import { APPLY_PIECE, ShardState } from '../../src/ps/shard-state.js';
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
function makeShards(S: number, T: number, staleness = 0) {
  const layout = planLayout(specs, S);
  const init = Float32Array.from({ length: layout.totalElements }, (_, i) => Math.sin(i * 0.01));
  const exchange = localNormExchange(S);
  return Array.from({ length: S }, (_, s) => {
    const lo = layout.shardStarts[s]!;
    return new ShardState({
      run: 'r', stage: 'coarse', shard: s, flatStart: lo, tasksPerStep: T, staleness, version: 0,
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

  it('a pull waiting on an epoch that the shard replaces is answered at once, to be retried', async () => {
    const c = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    const old = state;
    const waiting = c.pull('r', 'coarse', old.version + 1, 60_000); // no push comes: it would wait a minute
    await new Promise((r) => setTimeout(r, 100));
    [state] = makeShards(1, 2) as [ShardState];
    const t0 = Date.now();
    old.dispose();
    await assert.rejects(waiting, (err: Error & { code?: string }) => err.code === 'fiber.ps.no_stage' && /loaded another epoch .* retry/.test(err.message));
    assert.ok(Date.now() - t0 < 5000, 'answered when the old state was superseded, not at the pull timeout');
    await c.close();
  });
});

describe('ShardState aggregation', () => {
  /** `owned`: each push arrives in a buffer of the state's own (as the server receives it). */
  const runSteps = (S: number, T: number, order: (t: number[]) => number[], owned = false) => {
    const shards = makeShards(S, T);
    const layout = planLayout(specs, S);
    return (async () => {
      for (let step = 0; step < 3; step++) {
        for (const t of order([...Array(T).keys()])) {
          const g = gradFor(step, t, layout.totalElements);
          shards.forEach((sh, s) => {
            const slice = g.subarray(layout.shardStarts[s], layout.shardStarts[s + 1]);
            if (!owned) return sh.push(step, t, 3, slice);
            const buffer = sh.pushBuffer();
            buffer.set(slice);
            sh.push(step, t, 3, buffer, true);
          });
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
    assert.equal(await runSteps(2, 4, (t) => [2, 0, 3, 1].map((i) => t[i]!), true), reference, 'owned buffers, shuffled');
  });
});

describe('bounded staleness', () => {
  it('buffers pushes for the next s steps, applies them in order, and gives the synchronous bits', async () => {
    const T = 3;
    const layout = planLayout(specs, 2);
    const collect = (shards: ShardState[]) => {
      const out = new Float32Array(layout.totalElements);
      shards.forEach((sh, s) => out.set(sh.params, layout.shardStarts[s]));
      return Buffer.from(out.buffer).toString('base64');
    };
    const push = (shards: ShardState[], step: number, t: number) => {
      const g = gradFor(step, t, layout.totalElements);
      return shards.map((sh, s) => sh.push(step, t, 2, g.subarray(layout.shardStarts[s], layout.shardStarts[s + 1])));
    };
    const sync = makeShards(2, T);
    for (let step = 0; step < 3; step++) {
      for (let t = 0; t < T; t++) push(sync, step, t);
      await Promise.all(sync.map((sh) => sh.waitForVersion(step + 1, 5000)));
    }
    const stale = makeShards(2, T, 2);
    // Steps 2 and 1 arrive before step 0 is complete, tasks out of order, one duplicate.
    for (const [step, t] of [[2, 1], [1, 2], [2, 0], [1, 0], [0, 2], [1, 1], [2, 2], [0, 1]] as const) assert.deepEqual(push(stale, step, t), ['accepted', 'accepted']);
    assert.deepEqual(push(stale, 2, 1), ['duplicate', 'duplicate']);
    assert.throws(() => push(stale, 3, 0), /push for step 3 while at version 0 \(staleness 2\)/);
    assert.equal(stale[0]!.version, 0, 'step 0 still misses task 0');
    const before = stale[0]!.paramsAt(0)!.slice();
    push(stale, 0, 0);
    await Promise.all(stale.map((sh) => sh.waitForVersion(3, 5000)));
    assert.equal(collect(stale), collect(sync), 'same bits as one step at a time');
    assert.deepEqual(push(stale, 1, 0), ['stale', 'stale']);
    assert.equal(stale[0]!.paramsAt(0), undefined, 'only the last s versions are kept');
    assert.ok(stale[0]!.paramsAt(1) && stale[0]!.paramsAt(2) && stale[0]!.paramsAt(3));
    assert.notDeepEqual([...stale[0]!.paramsAt(1)!.subarray(0, 8)], [...before.subarray(0, 8)]);
  });

  it('serves the kept older versions over TCP and refuses evicted ones', async () => {
    const [state] = makeShards(1, 1, 1) as [ShardState];
    const server = new ShardServer({ shard: 0, token: TOKEN, host: '127.0.0.1', port: 0, maxBodyBytes: 64 << 20, log: logCapture().log, state: () => state });
    const port = await server.listen();
    const c = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    try {
      const v0 = (await c.pull('r', 'coarse', 0, 1000)).slice();
      state.push(0, 0, 1, gradFor(0, 0, state.size));
      await state.waitForVersion(1, 5000);
      assert.deepEqual(Buffer.from((await c.pull('r', 'coarse', 0, 1000)).buffer), Buffer.from(v0.buffer), 'version 0 kept (staleness 1)');
      const v1 = (await c.pull('r', 'coarse', 1, 1000)).slice();
      state.push(1, 0, 1, gradFor(1, 0, state.size));
      await state.waitForVersion(2, 5000);
      assert.deepEqual(Buffer.from((await c.pull('r', 'coarse', 1, 1000)).buffer), Buffer.from(v1.buffer), 'version 1 kept');
      await assert.rejects(c.pull('r', 'coarse', 0, 1000), /version 0 is gone/);
    } finally {
      await c.close();
      await server.close();
    }
  });
});

describe('applying in pieces while pulls stream', () => {
  // Two tensors over 2.5 pieces: the piece borders cut through the first one.
  const big: ParamSpec[] = [
    { name: 'w', shape: [APPLY_PIECE + 12_345], group: 'backbone', noDecay: false },
    { name: 'g', shape: [APPLY_PIECE + APPLY_PIECE / 2 - 12_345], group: 'fusion', noDecay: true },
  ];
  const layout = planLayout(big, 1);
  const n = layout.totalElements;
  const bigOpt = { ...opt, gradClipNorm: 0 };
  const init = () => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1e-3));
  const stateOf = (staleness = 0, readerWaitMs?: number) => new ShardState({
    run: 'r', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: 1, staleness, version: 0,
    params: init(), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n),
    slices: shardSlices(layout, big, 0), specs: big, optimizer: bigOpt, ...(readerWaitMs ? { readerWaitMs } : {}),
  }, localNormExchange(1)(0));
  const grad = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 7e-4));

  it('exposes the new version piece by piece, never the half-updated live array as the old one, with one pass\'s bits', async () => {
    const state = stateOf();
    state.push(0, 0, 2, grad);
    assert.ok(await state.waitForReadable(1, 1, 1000));
    const during = state.readable(1)!;
    assert.equal(state.version, 0, 'the apply is still running');
    assert.equal(during.ready, APPLY_PIECE, 'the first piece is out');
    assert.equal(state.paramsAt(0), undefined, 'version 0 is half overwritten: not served (staleness 0)');
    assert.equal(state.paramsAt(1), undefined, 'version 1 is not whole yet');
    await state.waitForVersion(1, 5000);
    assert.equal(state.readable(1)!.ready, n);

    // The reference: one adamwUpdate over each tensor, as torch would do it.
    const p = init();
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    big.forEach((spec, i) => {
      const lo = layout.tensorStarts[i]!;
      adamwUpdate(p, m, v, grad, { lr: bigOpt.lr * lrFactor(0, bigOpt) * lrMultiplier(spec, bigOpt), beta1: bigOpt.betas[0], beta2: bigOpt.betas[1], eps: bigOpt.eps, weightDecay: spec.noDecay ? 0 : bigOpt.weightDecay, t: 1 }, 0.5, lo, lo + numel(spec.shape));
    });
    assert.ok(Buffer.from(state.params.buffer).equals(Buffer.from(p.buffer)), 'same bits as one pass');
    assert.ok(Buffer.from(state.expAvgSq.buffer).equals(Buffer.from(v.buffer)));
  });

  it('changes no array a pull body is still written from, and closes a reader that stalls', async () => {
    const state = stateOf(0, 100);
    let aborted = 0;
    const release = state.addReader(() => aborted++);
    state.push(0, 0, 2, grad);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(state.readable(1)!.ready, 0, 'no piece of version 1 while the reader is writing');
    assert.equal(state.params[1], init()[1], 'the live array is untouched');
    release();
    assert.ok(await state.waitForVersion(1, 5000));
    assert.equal(aborted, 0);
    state.addReader(() => aborted++); // never released
    state.push(1, 0, 2, grad);
    assert.ok(await state.waitForVersion(2, 5000));
    assert.equal(aborted, 1, 'closed after readerWaitMs, and the run goes on');
  });

  it('keeps the old version whole from its kept copy while the next is applied (staleness 1)', async () => {
    const state = stateOf(1);
    const v0 = state.params.slice();
    state.push(0, 0, 2, grad);
    await state.waitForReadable(1, 1, 1000);
    assert.equal(state.version, 0);
    assert.ok(Buffer.from(state.paramsAt(0)!.buffer).equals(Buffer.from(v0.buffer)));
    await state.waitForVersion(1, 5000);
  });

  it('serves a pull that waits on the version being applied with the whole new version', async () => {
    const state = stateOf();
    const server = new ShardServer({ shard: 0, token: TOKEN, host: '127.0.0.1', port: 0, maxBodyBytes: 64 << 20, log: logCapture().log, state: () => state });
    const port = await server.listen();
    const a = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    const b = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    try {
      const early = a.pull('r', 'coarse', 1, 5000); // asked before the step exists
      assert.equal(await b.push('r', 'coarse', 0, 0, 2, grad), 'accepted');
      const late = b.pull('r', 'coarse', 1, 5000); // asked while (or after) it is applied
      const [x, y] = await Promise.all([early, late]);
      assert.equal(state.version, 1);
      assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(state.params.buffer)), 'early pull: the whole new version');
      assert.ok(Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(Buffer.from(state.params.buffer)), 'late pull: the same bits');
      await assert.rejects(a.pull('r', 'coarse', 0, 100), /version 0 is gone/);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await server.close();
    }
  });
});
