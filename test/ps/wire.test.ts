import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyAsFloat32, encodeFrame, encodeFrameHead, FrameDecoder, MessageType, ProtocolError } from '../../src/ps/wire.js';

const frameBytes = (type: MessageType, header: Record<string, unknown>, body?: Float32Array) => Buffer.concat(encodeFrame(type, header, body));

describe('FrameDecoder', () => {
  const body = Float32Array.from({ length: 50_000 }, (_, i) => Math.sin(i));
  const stream = Buffer.concat([
    frameBytes(MessageType.Push, { id: 1, step: 3 }, body),
    frameBytes(MessageType.PushAck, { id: 1, status: 'accepted' }),
    frameBytes(MessageType.Params, { id: 2, version: 4 }, body.subarray(0, 10)),
  ]);

  for (const size of [1, 7, 4096, 65_536, stream.length]) {
    it(`gives the same frames whatever the chunking (${size}-byte chunks)`, () => {
      const d = new FrameDecoder(1 << 20);
      const frames = [];
      for (let at = 0; at < stream.length; at += size) frames.push(...d.push(stream.subarray(at, at + size)));
      assert.deepEqual(frames.map((f) => [f.type, f.header]), [
        [MessageType.Push, { id: 1, step: 3 }], [MessageType.PushAck, { id: 1, status: 'accepted' }], [MessageType.Params, { id: 2, version: 4 }],
      ]);
      assert.deepEqual(bodyAsFloat32(frames[0]!.body), body);
      assert.equal(frames[0]!.body.byteOffset % 8, 0, 'a Float32Array view needs no copy');
      assert.equal(frames[1]!.body.length, 0);
      assert.deepEqual(bodyAsFloat32(frames[2]!.body), body.subarray(0, 10));
    });
  }

  it('reuses a released body buffer for the next body of that size', () => {
    const d = new FrameDecoder(1 << 20);
    const one = frameBytes(MessageType.Push, { id: 1 }, body);
    const [a] = d.push(one);
    d.release(a!.body);
    const [b] = d.push(frameBytes(MessageType.Push, { id: 2 }, body.map((x) => -x)));
    assert.equal(b!.body, a!.body);
    assert.equal(bodyAsFloat32(b!.body)[1], -body[1]!);
  });

  it('decodes a body straight into the buffer its target names, and into its own otherwise', () => {
    const into = new Float32Array(10);
    const asked: unknown[] = [];
    const d = new FrameDecoder(1 << 20, (type, header, bodyLen) => {
      asked.push([type, header.id, bodyLen]);
      return header.id === 7 ? Buffer.from(into.buffer) : undefined;
    });
    const frames = d.push(Buffer.concat([
      frameBytes(MessageType.Params, { id: 7 }, body.subarray(0, 10)),
      frameBytes(MessageType.Params, { id: 8 }, body.subarray(0, 10)),
      frameBytes(MessageType.PushAck, { id: 9 }),
    ]));
    assert.deepEqual(asked, [[MessageType.Params, 7, 40], [MessageType.Params, 8, 40]], 'asked once a header is in, only for frames with a body');
    assert.equal(frames[0]!.body.buffer, into.buffer);
    assert.deepEqual(into, body.subarray(0, 10));
    assert.notEqual(frames[1]!.body.buffer, into.buffer);
    assert.deepEqual(bodyAsFloat32(frames[1]!.body), body.subarray(0, 10));
  });

  it('lets the socket write a body in place (readTarget, pushDirect) once its header is in', () => {
    const into = Buffer.alloc(16);
    const d = new FrameDecoder(1 << 20, () => into);
    const body = Float32Array.of(1, 2, 3, 4);
    const bytes = Buffer.from(body.buffer);
    const prefixAndHeader = Buffer.concat(encodeFrameHead(MessageType.Params, { id: 7 }, 16));
    assert.equal(d.readTarget(), null, 'no header yet');
    assert.deepEqual(d.push(Buffer.concat([prefixAndHeader, bytes.subarray(0, 4)])), []);
    const target = d.readTarget()!;
    assert.equal(target.buffer, into.buffer);
    assert.equal(target.byteOffset, 4, 'the rest of the body, after what was pushed');
    bytes.copy(target, 0, 4, 10);
    assert.deepEqual(d.pushDirect(6), []);
    bytes.copy(d.readTarget()!, 0, 10);
    const [frame] = d.pushDirect(6);
    assert.equal(frame!.body, into);
    assert.deepEqual([...bodyAsFloat32(frame!.body)], [1, 2, 3, 4]);
    assert.equal(d.readTarget(), null, 'between frames');
    assert.throws(() => d.pushDirect(1), ProtocolError);
  });

  it('rejects a bad header as soon as it is in, before its body', () => {
    const head = Buffer.concat(encodeFrameHead(MessageType.Push, { id: 1 }, 1 << 16));
    head.write('[', 16); // the JSON header becomes '["id":1}'
    const d = new FrameDecoder(1 << 20);
    assert.throws(() => d.push(head), (e: unknown) => e instanceof ProtocolError && e.code === 'fiber.ps.bad_header');
  });

  it('refuses any body while its limit is 0 (an unauthenticated peer), and takes it once raised', () => {
    const frame = frameBytes(MessageType.Push, { id: 1 }, body.subarray(0, 4));
    assert.throws(() => new FrameDecoder(0).push(frame), (e: unknown) => e instanceof ProtocolError && e.code === 'fiber.ps.bad_length');
    const d = new FrameDecoder(0);
    d.maxBodyBytes = 16;
    assert.equal(d.push(frame).length, 1);
  });
});
