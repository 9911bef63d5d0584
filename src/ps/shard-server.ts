import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { ShardState } from './shard-state.js';
import { bodyAsFloat32, encodeFrame, encodeFrameHead, FrameDecoder, headerProblems, macMatches, MessageType, ProtocolError, PROTOCOL_VERSION, pullHeaderSchema, pushHeaderSchema, type Frame } from './wire.js';

export interface ShardServerOptions {
  readonly shard: number;
  /** FIBER_PS_TOKEN: peers prove they know it with an HMAC of a per-connection nonce. */
  readonly token: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Largest body accepted (a push of this shard's gradient slice). */
  readonly maxBodyBytes: number;
  readonly log: Logger;
  /** The active stage's state, or null between stages. */
  readonly state: () => ShardState | null;
}

export interface ShardServerStats {
  connections: number;
  rejectedConnections: number;
  pulls: number;
  pushes: number;
  pullBytes: number;
  pushBytes: number;
}

/**
 * The TCP face of one shard. Serves pulls of its parameters at a version and pushes of gradient
 * slices. A connection that fails the handshake or sends a malformed frame is logged and closed;
 * the shard keeps serving every other connection.
 */
export class ShardServer {
  readonly stats: ShardServerStats = { connections: 0, rejectedConnections: 0, pulls: 0, pushes: 0, pullBytes: 0, pushBytes: 0 };
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | null = null;
  /** Push bodies received into a state's own buffer (pushBuffer), handed over without a copy. */
  private readonly ownedBodies = new WeakMap<Buffer, ShardState>();

  constructor(private readonly o: ShardServerOptions) {}

  async listen(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : this.o.port;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const s of this.sockets) s.destroy();
      if (!this.server) return resolve();
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    this.stats.connections++;
    socket.setNoDelay(true);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const nonce = randomBytes(16).toString('hex');
    // The handshake frames have no body. A push body of the shard's exact size is received into a
    // buffer of the state's, which keeps it (as the step's sum or an early arrival) uncopied.
    const decoder = new FrameDecoder(0, (type, _header, bodyLen) => {
      const state = this.o.state();
      if (type !== MessageType.Push || !state || bodyLen !== state.size * 4) return undefined;
      const f = state.pushBuffer();
      const body = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      this.ownedBodies.set(body, state);
      return body;
    });
    let authed = false;
    const drop = (reason: string, code: string) => {
      this.stats.rejectedConnections++;
      this.o.log.warn({ peer, code, reason, shard: this.o.shard }, 'parameter-server connection dropped');
      socket.destroy();
    };
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.o.log.debug({ peer, err: err.message }, 'socket error'));
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      if (authed) {
        // A push body is exactly the shard's slice: a frame announcing more is refused before its
        // buffer is allocated, whoever sends it. With no stage loaded the configured cap stands
        // (the push then gets a no_stage answer, as before).
        const state = this.o.state();
        decoder.maxBodyBytes = state ? Math.min(this.o.maxBodyBytes, state.size * 4) : this.o.maxBodyBytes;
      }
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        return drop((err as Error).message, err instanceof ProtocolError ? err.code : 'fiber.ps.protocol');
      }
      for (const frame of frames) {
        if (!authed) {
          if (frame.type !== MessageType.Auth || !macMatches(this.o.token, nonce, frame.header.mac)) {
            return drop('frame before a valid handshake (wrong or missing FIBER_PS_TOKEN?)', 'fiber.ps.unauthenticated');
          }
          authed = true;
          decoder.maxBodyBytes = this.o.maxBodyBytes;
          this.send(socket, MessageType.AuthOk, {});
          continue;
        }
        void this.handle(socket, frame, decoder).catch((err: Error) => {
          this.send(socket, MessageType.Error, { id: frame.header.id, code: 'fiber.ps.internal', message: err.message });
        });
      }
    });
    this.send(socket, MessageType.Hello, { nonce, shard: this.o.shard, protocol: PROTOCOL_VERSION });
  }

  private async handle(socket: Socket, frame: Frame, decoder: FrameDecoder): Promise<void> {
    const h = frame.header;
    const id = h.id;
    const state = this.o.state();
    if (!state || state.run !== h.run || state.stage !== h.stage) {
      return this.send(socket, MessageType.Error, { id, code: 'fiber.ps.no_stage', message: `shard ${this.o.shard} is not serving ${String(h.run)}/${String(h.stage)}` });
    }
    if (frame.type === MessageType.Pull) {
      const pull = pullHeaderSchema.safeParse(h);
      if (!pull.success) return this.send(socket, MessageType.Error, { id, code: 'fiber.ps.bad_pull', message: `malformed pull header: ${headerProblems(pull.error)}` });
      const { version, timeoutMs } = pull.data;
      const gone = () => this.send(socket, MessageType.Error, { id, code: 'fiber.ps.stale_version', message: `version ${version} is gone; shard is at ${state.version}`, current: state.version });
      if (state.version > version && !state.paramsAt(version)) return gone();
      // Waits for the first piece of the version only: the rest streams out as AdamW makes it.
      const started = await state.waitForReadable(version, Math.min(1, state.size), timeoutMs);
      if (!started && state.superseded) {
        return this.send(socket, MessageType.Error, { id, code: 'fiber.ps.no_stage', message: `shard ${this.o.shard} loaded another epoch of ${state.run}/${state.stage} while this pull of version ${version} waited: retry` });
      }
      if (!started) return this.send(socket, MessageType.Error, { id, code: 'fiber.ps.timeout', message: `version ${version} not reached in time; shard is at ${state.version}` });
      if (!state.readable(version)) return gone();
      this.stats.pulls++;
      this.stats.pullBytes += state.size * 4;
      return this.stream(socket, state, version, id, timeoutMs);
    }
    if (frame.type === MessageType.Push) {
      this.stats.pushes++;
      this.stats.pushBytes += frame.body.length;
      try {
        const push = pushHeaderSchema.safeParse(h);
        if (!push.success) throw new Error(`malformed push header: ${headerProblems(push.error)}`);
        const owned = this.ownedBodies.get(frame.body) === state;
        const status = state.push(push.data.step, push.data.task, push.data.samples, bodyAsFloat32(frame.body), owned);
        if (!owned) decoder.release(frame.body); // push() keeps no reference to it
        return this.send(socket, MessageType.PushAck, { id, status, version: state.version });
      } catch (err) {
        this.o.log.warn({ shard: this.o.shard, step: h.step, task: h.task, err: (err as Error).message }, 'push rejected');
        return this.send(socket, MessageType.Error, { id, code: 'fiber.ps.bad_push', message: (err as Error).message });
      }
    }
    this.send(socket, MessageType.Error, { id, code: 'fiber.ps.bad_type', message: `unexpected message type ${frame.type}` });
  }

  /**
   * One Params frame: the prefix and header at once (the body's length is known), then the body
   * piece by piece as the shard makes the version. The pieces are written straight from the
   * shard's arrays (the live one, or a kept copy), without a copy: each write is registered with
   * the state, whose next apply waits for it before changing those arrays (ShardState.addReader).
   * If the version goes away mid-body (a late pull of a step overtaken by the next, which a
   * synchronous run never does), no error frame can follow a promised body: the connection is
   * closed and the client's task is retried.
   */
  private async stream(socket: Socket, state: ShardState, version: number, id: unknown, timeoutMs: number): Promise<void> {
    const size = state.size;
    // One registration for the whole body, released when its last byte is handed to the kernel
    // or the connection is gone (a destroyed socket may never call its write callbacks).
    const unregister = state.addReader(() => socket.destroy());
    const release = () => {
      socket.off('close', release);
      unregister();
    };
    socket.once('close', release);
    const head = encodeFrameHead(MessageType.Params, { id, version }, size * 4);
    head.forEach((part, i) => socket.write(part, size === 0 && i === head.length - 1 ? release : undefined));
    let sent = 0;
    while (sent < size) {
      const r = socket.destroyed ? undefined : state.readable(version);
      if (!r) {
        socket.destroy();
        return release();
      }
      if (r.ready > sent) {
        const last = r.ready === size;
        socket.write(Buffer.from(r.params.buffer, r.params.byteOffset + sent * 4, (r.ready - sent) * 4), last ? release : undefined);
        sent = r.ready;
      }
      if (sent === size) return;
      if (!(await state.waitForReadable(version, sent + 1, timeoutMs))) {
        this.o.log.warn({ shard: this.o.shard, version }, 'pull stalled mid-body; closing the connection');
        socket.destroy();
        return release();
      }
    }
  }

  private send(socket: Socket, type: MessageType, header: Record<string, unknown>, body?: Float32Array, written?: () => void): void {
    if (socket.destroyed) {
      written?.();
      return;
    }
    const parts = encodeFrame(type, header, body);
    parts.forEach((part, i) => socket.write(part, i === parts.length - 1 && written ? () => written() : undefined));
  }
}
