/**
 * bench/ps: cost of one synchronous step's communication — every worker pushes its gradient to
 * every shard, the shards aggregate and apply AdamW, every worker pulls the new parameters — for
 * 1M to 250M float parameters, 1 to 8 workers and 1 to 4 shards, over loopback TCP on this
 * machine. Next to it, measured in the same run: memcpy rate and raw loopback TCP rate (the
 * ceilings). Target (issue 5): a sync within 2x of the loopback limit for 64 MB and more.
 *
 *   npm run bench:ps             # the default matrix (a few minutes on 2 cores)
 *   node dist/bench/ps.js --quick
 *
 * Per-worker GB/s = (push + pull bytes of one worker) / sync time. Shards run in worker threads,
 * clients in the main thread: with 2 cores they compete for CPU, as they would on one machine.
 */
import { createServer, connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { ShardClient } from '../src/ps/shard-client.js';

const TOKEN = 'bench-token-0123456789abcdef';
const quick = process.argv.includes('--quick');

function memcpyGBs(): number {
  const n = 16 << 20; // 64 MB of float32
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  b.set(a);
  const reps = 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) b.set(a);
  return (reps * n * 4) / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9;
}

async function loopbackGBs(totalBytes: number): Promise<number> {
  const server = createServer((s) => s.resume());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const chunk = Buffer.alloc(4 << 20, 1);
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', () => r()));
  }
  await new Promise<void>((r) => socket.end(() => r()));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  server.close();
  return totalBytes / s / 1e9;
}

interface Row { floats: number; shards: number; workers: number; syncMs: number; perWorkerGBs: number; aggregateGBs: number; vsLoopback: number }

async function sync(floats: number, S: number, W: number, reps: number, loopback: number): Promise<Row> {
  const sizes = Array.from({ length: S }, (_, s) => Math.floor(floats / S) + (s < floats % S ? 1 : 0));
  const threads = sizes.map((size, shard) => new Worker(new URL('./ps-shard-thread.js', import.meta.url), { workerData: { shard, size, tasks: W, token: TOKEN } }));
  try {
    const ports = await Promise.all(threads.map((t) => new Promise<number>((r) => t.once('message', (m: { port: number }) => r(m.port)))));
    const clients = await Promise.all(Array.from({ length: W }, () => Promise.all(ports.map((port, shard) => ShardClient.connect({ shard, host: '127.0.0.1', port }, TOKEN)))));
    const grads = sizes.map((n) => new Float32Array(n).fill(1e-3));
    // Each worker pulls into buffers of its own, reused step after step (as fiber worker does).
    const pulled = clients.map(() => sizes.map((n) => new Float32Array(n)));
    const times: number[] = [];
    for (let v = 0; v < reps + 1; v++) {
      const t0 = process.hrtime.bigint();
      await Promise.all(clients.map(async (cs, w) => {
        await Promise.all(cs.map((c, s) => c.push('bench', 'coarse', v, w, 1, grads[s]!)));
        await Promise.all(cs.map((c, s) => c.pull('bench', 'coarse', v + 1, 600_000, pulled[w]![s])));
      }));
      if (v > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6); // the first is warm-up
    }
    await Promise.all(clients.flat().map((c) => c.close()));
    const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const perWorker = (2 * floats * 4) / (ms / 1000) / 1e9;
    return { floats, shards: S, workers: W, syncMs: round(ms), perWorkerGBs: round(perWorker), aggregateGBs: round(perWorker * W), vsLoopback: round(loopback / (perWorker * W)) };
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

const memcpy = round(memcpyGBs());
const loopback = round(await loopbackGBs(quick ? 256 << 20 : 1 << 30));
const M = 1 << 20;
const matrix: Array<[number, number, number]> = quick
  ? [[1 * M, 1, 1], [16 * M, 1, 1], [16 * M, 2, 2], [64 * M, 2, 2]]
  : [
    [1 * M, 1, 1], [1 * M, 2, 4], [1 * M, 4, 8],
    [16 * M, 1, 1], [16 * M, 2, 2], [16 * M, 4, 4], [16 * M, 2, 8],
    [64 * M, 1, 1], [64 * M, 2, 2], [64 * M, 4, 4],
    [250_000_000, 2, 1], [250_000_000, 4, 2],
  ];
const rows: Row[] = [];
for (const [floats, S, W] of matrix) {
  rows.push(await sync(floats, S, W, floats >= 64 * M ? 2 : 4, loopback));
  const r = rows[rows.length - 1]!;
  process.stderr.write(`${String(r.floats).padStart(11)} floats  ${r.shards} shard(s)  ${r.workers} worker(s)  sync ${String(r.syncMs).padStart(9)} ms  ${String(r.perWorkerGBs).padStart(6)} GB/s/worker  ${String(r.aggregateGBs).padStart(6)} GB/s total  loopback/total ${r.vsLoopback}x\n`);
}
const big = rows.filter((r) => r.floats * 4 >= 64e6);
const result = { bench: 'ps', node: process.version, cores: (await import('node:os')).cpus().length, memcpyGBs: memcpy, loopbackGBs: loopback, rows, targetMet: big.every((r) => r.vsLoopback <= 2) };
process.stderr.write(`memcpy ${memcpy} GB/s, loopback TCP ${loopback} GB/s (same run)\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
