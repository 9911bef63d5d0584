/**
 * A parameter-server shard in its own thread, for bench/ps: the real ShardServer and ShardState
 * over loopback TCP, with silent logs. Posts its port, then serves until terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { resolveRunConfig } from '../src/config/index.js';
import { localNormExchange } from '../src/ps/norm-exchange.js';
import { ShardServer } from '../src/ps/shard-server.js';
import { ShardState } from '../src/ps/shard-state.js';

const { shard, size, tasks, token } = workerData as { shard: number; size: number; tasks: number; token: string };
const optimizer = resolveRunConfig({ preset: 'fiber-tiny' }).optimizer.coarse;
const specs = [{ name: `p${shard}`, shape: [size], group: 'backbone' as const, noDecay: false }];
const state = new ShardState({
  run: 'bench', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: tasks, staleness: 0, version: 0,
  params: new Float32Array(size), expAvg: new Float32Array(size), expAvgSq: new Float32Array(size),
  slices: [{ name: `p${shard}`, index: 0, tensorOffset: 0, shardOffset: 0, length: size }], specs, optimizer,
}, localNormExchange(1)(0));
const server = new ShardServer({ shard, token, host: '127.0.0.1', port: 0, maxBodyBytes: 0xffff_fffc, log: pino({ level: 'silent' }), state: () => state });
const port = await server.listen();
parentPort!.postMessage({ port });
