import { Command, InvalidArgumentError, Option } from 'commander';
import { contextFor, redisUrlOption } from './run-commands.js';

function nonNegInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

function posInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

/** ps and worker: the long-running processes Kubernetes (or `fiber demo`) starts. */
export function registerServiceCommands(program: Command): void {
  program.command('ps')
    .description('run one parameter-server shard (shard 0 also coordinates stages); FIBER_PS_TOKEN must be set')
    .addOption(new Option('--shard <i>', 'shard index (default: the pod ordinal, the number ending HOSTNAME)').argParser(nonNegInt).env('FIBER_PS_SHARD'))
    .addOption(new Option('--shards <n>', 'number of shards').argParser(posInt).env('FIBER_PS_SHARDS').default(1))
    .addOption(new Option('--port <port>', 'tensor port (0: any free port)').argParser(nonNegInt).env('FIBER_PS_PORT').default(7070))
    .addOption(new Option('--bind <host>', 'interface to listen on').env('FIBER_PS_BIND').default('0.0.0.0'))
    .addOption(new Option('--advertise-host <host>', 'name workers reach this shard by (default: the hostname)').env('FIBER_PS_ADVERTISE_HOST'))
    .addOption(new Option('--metrics-port <port>', '/healthz, /readyz and Prometheus /metrics (default: FIBER_METRICS_PORT or 9090; 0: any free port)').argParser(nonNegInt))
    .addOption(new Option('--lease-ttl <s>', 'shard 0: the coordinator lease\'s lifetime without renewal (a dead coordinator is replaced after at most this)').argParser(posInt).env('FIBER_PS_LEASE_TTL_S').default(30))
    .addOption(new Option('--standby-grace <s>', 'shard 0: how long to stand by behind a coordinator with another --shards before exiting 2').argParser(nonNegInt).env('FIBER_PS_STANDBY_GRACE_S').default(120))
    .addOption(redisUrlOption())
    .action(async (opts, cmd: Command) => (await import('./commands/ps.js')).ps(opts, await contextFor(cmd, true)));

  program.command('worker')
    .description('run a gradient worker: takes tasks from Redis, computes gradients, pushes them to the shards')
    .addOption(new Option('--id <id>', 'worker id shown by fiber status (default: hostname-pid)').env('FIBER_WORKER_ID'))
    .addOption(new Option('--lock-ms <ms>', 'task lock; a dead worker\'s task is redone after it expires').argParser(posInt).env('FIBER_TASK_LOCK_MS').default(30_000))
    .addOption(new Option('--metrics-port <port>', '/healthz, /readyz and Prometheus /metrics (default: FIBER_METRICS_PORT or 9090; 0: any free port)').argParser(nonNegInt))
    .addOption(redisUrlOption())
    .action(async (opts, cmd: Command) => (await import('./commands/worker.js')).worker(opts, await contextFor(cmd, true)));
}
