/**
 * A parameter-server shard process for bench/ps, as `fiber ps` runs one: the real ShardServer and
 * ShardState over loopback TCP in the process's main thread, with silent logs. Reads its settings
 * from argv[2] (JSON), sends its port over the IPC channel, then serves until killed.
 */
import { pino } from 'pino';
import { resolveRunConfig } from '../src/config/index.js';
import { localNormExchange } from '../src/ps/norm-exchange.js';
import { ShardServer } from '../src/ps/shard-server.js';
import { ShardState } from '../src/ps/shard-state.js';

const { shard, size, tasks, token } = JSON.parse(process.argv[2]!) as { shard: number; size: number; tasks: number; token: string };
const optimizer = resolveRunConfig({ preset: 'fiber-tiny' }).optimizer.coarse;
const specs = [{ name: `p${shard}`, shape: [size], group: 'backbone' as const, noDecay: false }];
const state = new ShardState({
  run: 'bench', stage: 'coarse', shard: 0, flatStart: 0, tasksPerStep: tasks, staleness: 0, version: 0,
  params: new Float32Array(size), expAvg: new Float32Array(size), expAvgSq: new Float32Array(size),
  slices: [{ name: `p${shard}`, index: 0, tensorOffset: 0, shardOffset: 0, length: size }], specs, optimizer,
}, localNormExchange(1)(0));
const server = new ShardServer({ shard, token, host: '127.0.0.1', port: 0, maxBodyBytes: 0xffff_fffc, log: pino({ level: 'silent' }), state: () => state });
process.send!({ port: await server.listen() });
process.on('disconnect', () => process.exit(0)); // the bench is gone
