import { connect, type Socket } from 'node:net';
import { FiberError } from '../errors/index.js';
import { authMac, bodyAsFloat32, encodeFrame, FrameDecoder, headerProblems, MessageType, ProtocolError, pushAckSchema, type Frame, type PushStatus } from './wire.js';

export interface ShardAddress {
  readonly shard: number;
  readonly host: string;
  readonly port: number;
}

interface Pending {
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  /** A pull's destination: its Params body is decoded straight into it. */
  into?: Float32Array;
}

/**
 * One authenticated connection to one shard, with any number of requests in flight (matched by
 * id). A lost connection fails every pending request; the caller's task is retried by BullMQ, so
 * no reconnect logic hides here.
 */
export class ShardClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: Promise<void> | null = null;

  private constructor(readonly address: ShardAddress, private readonly socket: Socket) {}

  static async connect(address: ShardAddress, token: string, opts: { timeoutMs?: number; maxBodyBytes?: number } = {}): Promise<ShardClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let client: ShardClient | undefined;
    const decoder = new FrameDecoder(opts.maxBodyBytes ?? 0xffff_fffc, (type, header) => {
      const into = type === MessageType.Params ? client?.pending.get(Number(header.id))?.into : undefined;
      return into && Buffer.from(into.buffer, into.byteOffset, into.byteLength);
    });
    // The socket reads into the body being received itself (a pull's destination), so a body
    // costs the kernel's copy alone; prefixes and headers go through a small buffer of ours,
    // copied out because it is reused.
    const scratch = Buffer.allocUnsafe(64 * 1024);
    let onData: (frames: () => Frame[]) => void = () => {};
    const socket = connect({
      host: address.host, port: address.port,
      onread: {
        buffer: () => decoder.readTarget() ?? scratch,
        callback: (n: number, buf: Uint8Array) => {
          onData(() => (buf === scratch ? decoder.push(Buffer.from(scratch.subarray(0, n))) : decoder.pushDirect(n)));
          return true; // keep reading
        },
      },
    });
    socket.setNoDelay(true);
    const where = `parameter-server shard ${address.shard} at ${address.host}:${address.port}`;
    client = new ShardClient(address, socket);
    await new Promise<void>((resolve, reject) => {
      const fail = (msg: string, code = 'fiber.ps.unreachable') => { clearTimeout(timer); socket.destroy(); reject(new FiberError(code, 'runtime', `${where}: ${msg}`)); };
      const timer = setTimeout(() => fail(`no handshake within ${timeoutMs} ms`), timeoutMs);
      let stage: 'hello' | 'auth' | 'ready' = 'hello';
      socket.once('error', (err) => fail(err.message));
      socket.once('close', () => { if (stage !== 'ready') fail('closed the connection during the handshake (wrong FIBER_PS_TOKEN?)', 'fiber.ps.auth'); });
      onData = (decode) => {
        let frames: Frame[];
        try {
          frames = decode();
        } catch (err) {
          return stage === 'ready' ? client!.failAll(err as Error) : fail((err as ProtocolError).message, 'fiber.ps.protocol');
        }
        for (const f of frames) {
          if (stage === 'hello' && f.type === MessageType.Hello) {
            stage = 'auth';
            for (const part of encodeFrame(MessageType.Auth, { mac: authMac(token, String(f.header.nonce)) })) socket.write(part);
          } else if (stage === 'auth' && f.type === MessageType.AuthOk) {
            stage = 'ready';
            clearTimeout(timer);
            socket.on('error', (err) => client!.failAll(err));
            socket.on('close', () => client!.failAll(new Error('connection closed')));
            resolve();
          } else if (stage === 'ready') {
            client!.dispatch(f);
          }
        }
      };
    });
    return client;
  }

  /**
   * Parameters of this shard at `version`, waiting up to timeoutMs for the shard to get there.
   * With `into` (exactly the shard's size) the body is decoded straight into it (if the pull
   * fails midway, `into` holds part of a version: discard it); without it, a buffer of their own
   * is returned.
   */
  async pull(run: string, stage: string, version: number, timeoutMs: number, into?: Float32Array): Promise<Float32Array> {
    const f = await this.request(MessageType.Pull, { run, stage, version, timeoutMs }, undefined, into);
    if (f.type !== MessageType.Params) throw this.unexpected(f);
    const params = bodyAsFloat32(f.body);
    if (!into) return params;
    if (into.length !== params.length) throw new FiberError('fiber.ps.protocol', 'runtime', `shard ${this.address.shard} sent ${params.length} parameters, expected ${into.length}`);
    return into; // the decoder wrote the body there
  }

  async push(run: string, stage: string, step: number, task: number, samples: number, grad: Float32Array): Promise<PushStatus> {
    const f = await this.request(MessageType.Push, { run, stage, step, task, samples }, grad);
    if (f.type !== MessageType.PushAck) throw this.unexpected(f);
    const ack = pushAckSchema.safeParse(f.header);
    if (!ack.success) throw new FiberError('fiber.ps.protocol', 'runtime', `shard ${this.address.shard}: malformed push acknowledgement: ${headerProblems(ack.error)}`);
    return ack.data.status;
  }

  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
    return this.closed;
  }

  private request(type: MessageType, header: Record<string, unknown>, body?: Float32Array, into?: Float32Array): Promise<Frame> {
    if (this.socket.destroyed) return Promise.reject(new FiberError('fiber.ps.closed', 'runtime', `connection to shard ${this.address.shard} is closed`));
    const id = this.nextId++;
    const done = new Promise<Frame>((resolve, reject) => this.pending.set(id, { resolve, reject, ...(into ? { into } : {}) }));
    for (const part of encodeFrame(type, { id, ...header }, body)) this.socket.write(part);
    return done.then((f) => {
      if (f.type === MessageType.Error) {
        throw new FiberError(String(f.header.code ?? 'fiber.ps.error'), 'runtime', `shard ${this.address.shard}: ${String(f.header.message)}`, { current: f.header.current });
      }
      return f;
    });
  }

  private dispatch(f: Frame): void {
    const id = Number(f.header.id);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve(f);
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new FiberError('fiber.ps.connection_lost', 'runtime', `shard ${this.address.shard}: ${err.message}`));
    }
  }

  private unexpected(f: Frame): Error {
    return new FiberError('fiber.ps.protocol', 'runtime', `shard ${this.address.shard} answered with message type ${f.type}`);
  }
}
