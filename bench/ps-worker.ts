/**
 * A worker process for bench/ps, as `fiber worker` is one: its own connections to every shard,
 * in its own main thread. Reads its settings from argv[2] (JSON), then answers the bench's
 * commands over the IPC channel:
 *   { step: v }  push task `worker`'s gradient for step v to every shard, then pull v+1
 *                (asked at once, as a worker does) -> { pushMs, stepMs }
 *   { pull: v }  pull version v (already applied: the transfer alone) -> { pullMs }
 * and exits when the bench disconnects.
 * Times are taken here, from the command's arrival.
 */
import { ShardClient } from '../src/ps/shard-client.js';

const { worker, ports, sizes, token } = JSON.parse(process.argv[2]!) as { worker: number; ports: number[]; sizes: number[]; token: string };
const clients = await Promise.all(ports.map((port, shard) => ShardClient.connect({ shard, host: '127.0.0.1', port }, token)));
const grads = sizes.map((n) => new Float32Array(n).fill(1e-3));
// Pulled into buffers of its own, reused step after step (as fiber worker does).
const pulled = sizes.map((n) => new Float32Array(n));
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const pullAll = (v: number) => Promise.all(clients.map((c, s) => c.pull('bench', 'coarse', v, 600_000, pulled[s])));

process.on('message', (m: { step?: number; pull?: number }) => {
  void (async () => {
    const t0 = process.hrtime.bigint();
    if (m.step !== undefined) {
      await Promise.all(clients.map((c, s) => c.push('bench', 'coarse', m.step!, worker, 1, grads[s]!)));
      const pushMs = ms(t0);
      await pullAll(m.step + 1);
      process.send!({ pushMs, stepMs: ms(t0) });
    } else if (m.pull !== undefined) {
      await pullAll(m.pull);
      process.send!({ pullMs: ms(t0) });
    }
  })();
});
process.on('disconnect', () => process.exit(0)); // the bench is gone
process.send!({ ready: true });
