import { RunStateError } from '../../errors/index.js';
import { registeredConfig, RunRegistry, type RunRecord } from '../../queue/run-registry.js';
import { connectForCommand, type CliContext } from '../context.js';

/**
 * Where a run's checkpoints are: the flag when given (then Redis is not needed at all), else the
 * checkpoint.uri of the config Redis registered for the run.
 */
export async function runCheckpointUri(ctx: CliContext, run: string, flag: string | undefined, redisUrl: string | undefined): Promise<{ uri: string; record: RunRecord | null }> {
  if (flag) return { uri: flag, record: null };
  const conn = await connectForCommand(ctx, redisUrl);
  try {
    const record = await new RunRegistry(conn.redis).get(run);
    if (!record) throw new RunStateError(`no run named "${run}" in Redis; give --checkpoints URL (the run's checkpoint.uri) to read its checkpoints directly`, 'fiber.run.unknown');
    return { uri: registeredConfig(record).checkpoint.uri, record };
  } finally {
    conn.redis.disconnect();
  }
}
