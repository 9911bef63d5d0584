import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { resolveRunConfig } from '../../src/config/index.js';
import type { ServerParamSpec } from '../../src/model/param-spec.js';
import { ShardClient } from '../../src/ps/shard-client.js';
import { ShardServer } from '../../src/ps/shard-server.js';
import { ShardState } from '../../src/ps/shard-state.js';
import { localNormExchange } from '../../src/ps/norm-exchange.js';
import { planLayout, shardSlices } from '../../src/stage/shard-layout.js';
import { seededRandom } from '../helpers/fuzz.js';
import { authMac, encodeFrame, FrameDecoder, MessageType, type Frame } from '../../src/ps/wire.js';

/**
 * Seeded fuzzing of a shard's TCP server: random bytes, mutated frames before and after the
 * handshake, and frames announcing huge lengths. The server must not crash, must refuse a huge
 * body before allocating it, must close (or answer) every bad connection, and must keep serving
 * a well-behaved client. Deterministic: the seed fixes every case.
 */
const TOKEN = 'fuzz-token-0123456789abcdef';
const SEED = 0x5eed17;
const CASES = 150;

const specs: ServerParamSpec[] = [{ name: 'w', shape: [64, 16], group: 'backbone', noDecay: false }];
const layout = planLayout(specs, 1);
const opt = resolveRunConfig({ preset: 'fiber-tiny' }).optimizer.coarse;

/** How a connection ended: closed by the server, or still open (with the frames it got) after `waitMs`. */
async function exchange(port: number, send: (s: Socket, hello: Frame) => void, waitMs = 1000): Promise<{ closed: boolean; frames: Frame[] }> {
  const socket = connect(port, '127.0.0.1');
  const decoder = new FrameDecoder(1 << 20);
  const frames: Frame[] = [];
  return new Promise((resolve) => {
    let sent = false;
    const timer = setTimeout(() => { socket.destroy(); resolve({ closed: false, frames }); }, waitMs);
    socket.on('data', (c: Buffer) => {
      try {
        frames.push(...decoder.push(c));
      } catch { /* the server's frames are well-formed; ignore */ }
      if (!sent && frames[0]?.type === MessageType.Hello) {
        sent = true;
        send(socket, frames[0]);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(timer); resolve({ closed: true, frames }); });
  });
}

const auth = (s: Socket, hello: Frame) => s.write(Buffer.concat(encodeFrame(MessageType.Auth, { mac: authMac(TOKEN, String(hello.header.nonce)) })));

describe('shard server fuzzing (seeded)', () => {
  let server: ShardServer;
  let port = 0;
  let state: ShardState;
  const drops: string[] = [];

  before(async () => {
    state = new ShardState({
      run: 'r', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: 1, staleness: 0, version: 0,
      params: new Float32Array(layout.totalElements).fill(0.5), expAvg: new Float32Array(layout.totalElements), expAvgSq: new Float32Array(layout.totalElements),
      slices: shardSlices(layout, specs, 0), specs, optimizer: opt,
    }, localNormExchange(1)(0));
    const log = pino({ level: 'debug' }, new Writable({ write(c: Buffer, _e, cb) { const l = JSON.parse(c.toString()) as { msg: string; code?: string }; if (l.msg === 'parameter-server connection dropped') drops.push(l.code ?? ''); cb(); } }));
    server = new ShardServer({ shard: 0, token: TOKEN, host: '127.0.0.1', port: 0, maxBodyBytes: 0xffff_fffc, log, state: () => state });
    port = await server.listen();
  });
  after(() => server.close());

  it('random bytes and mutated frames before the handshake: every connection is closed', async () => {
    const rnd = seededRandom(SEED);
    const valid = Buffer.concat(encodeFrame(MessageType.Auth, { mac: 'f'.repeat(64) }));
    for (let i = 0; i < CASES; i++) {
      let bytes: Buffer;
      if (i % 3 === 0) bytes = Buffer.from(Array.from({ length: 16 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
      else {
        bytes = Buffer.from(valid);
        for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      }
      const r = await exchange(port, (s) => s.write(bytes));
      // A mutation may leave the frame intact but for its (wrong) mac, or cut it short: then the
      // server is still waiting for the rest of a frame, which is no crash either.
      const waiting = !r.closed && r.frames.length === 1;
      assert.ok(r.closed || waiting, `case ${i}: ${bytes.subarray(0, 32).toString('hex')}`);
    }
  });

  it('a frame announcing a huge body is refused before allocating, authenticated or not', async () => {
    const before = drops.length;
    const huge = (type: MessageType) => {
      const head = Buffer.concat(encodeFrame(type, { id: 1, run: 'r', stage: 'coarse', step: 0, task: 0, samples: 1 }));
      head.writeUInt32LE(0xffff_fff0, 12);
      return head;
    };
    const rssBefore = process.memoryUsage().rss;
    assert.equal((await exchange(port, (s) => s.write(huge(MessageType.Auth)))).closed, true);
    // After AuthOk, so the frame meets the authenticated cap (the shard's slice), not the handshake's 0.
    const r = await exchange(port, (s, hello) => { auth(s, hello); setTimeout(() => s.write(huge(MessageType.Push)), 100); });
    assert.equal(r.closed, true);
    assert.ok(r.frames.some((f) => f.type === MessageType.AuthOk), 'it was authenticated first');
    assert.deepEqual(drops.slice(before), ['fiber.ps.bad_length', 'fiber.ps.bad_length']);
    assert.ok(process.memoryUsage().rss - rssBefore < 512 << 20, 'no 4 GB buffer was allocated');
  });

  it('mutated pulls and pushes after the handshake get an error frame or a closed connection', async () => {
    const rnd = seededRandom(SEED + 1);
    const grad = new Float32Array(layout.totalElements).fill(1e-3);
    const templates = [
      Buffer.concat(encodeFrame(MessageType.Pull, { id: 7, run: 'r', stage: 'coarse', version: 0, timeoutMs: 10 })),
      Buffer.concat(encodeFrame(MessageType.Push, { id: 8, run: 'r', stage: 'coarse', step: 99, task: 0, samples: 1 }, grad)),
    ];
    for (let i = 0; i < 60; i++) {
      const bytes = Buffer.from(templates[i % 2]!);
      // Mutate the prefix and header (the body of a push is any float32 data).
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) bytes[Math.floor(rnd() * Math.min(bytes.length, 120))] = Math.floor(rnd() * 256);
      const r = await exchange(port, (s, hello) => { auth(s, hello); s.write(bytes); }, 400);
      const answered = r.frames.some((f) => f.type === MessageType.Error || f.type === MessageType.Params || f.type === MessageType.PushAck);
      const waiting = !r.closed && r.frames.length === 2; // Hello + AuthOk, the rest of a frame still to come
      assert.ok(r.closed || answered || waiting, `case ${i}: ${bytes.subarray(0, 48).toString('hex')}`);
    }
    assert.equal(state.version, 0, 'no mutated push moved the shard');
  });

  it('and it keeps serving a well-behaved client', async () => {
    const c = await ShardClient.connect({ shard: 0, host: '127.0.0.1', port }, TOKEN);
    try {
      const params = await c.pull('r', 'coarse', 0, 1000);
      assert.equal(params.length, layout.totalElements);
      assert.equal(params[0], 0.5);
    } finally {
      await c.close();
    }
  });
});
