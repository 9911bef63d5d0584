import { configHash, loadConfigFile, resolveRunConfig, type RunConfig, type StageName } from '../../config/index.js';
import { ConfigError, StorageError, UsageError } from '../../errors/index.js';
import { RUN_NAME_PATTERN, stageJobId } from '../../queue/keys.js';
import type { SubmitOutcome } from '../../queue/submit-stage.js';
import { connectForCommand, type CliContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface PretrainOptions {
  readonly stage: StageName;
  readonly config?: string;
  readonly preset?: string;
  readonly set: string[];
  readonly run?: string;
  readonly init?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly redisUrl?: string;
}

/** Validate everything first (nothing is written on any error), then register and queue. */
export async function pretrain(opts: PretrainOptions, ctx: CliContext): Promise<void> {
  const file = opts.config ? await loadConfigFile(opts.config) : undefined;
  const config = resolveRunConfig({ ...(opts.preset ? { preset: opts.preset } : {}), ...(file ? { file } : {}), sets: opts.set });
  const hash = configHash(config);
  const run = opts.run ?? `${config.preset}-${hash}`;
  if (!RUN_NAME_PATTERN.test(run)) {
    throw new UsageError(`--run "${run}": use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`, 'fiber.usage.run_name');
  }
  checkStageInputs(config, opts.stage);
  await checkTokenizerHere(config, ctx);
  const init = opts.init ?? null;
  if (init !== null && !/^(s3|file):\/\//.test(init) && /^[a-z][a-z0-9+.-]*:\/\//i.test(init)) {
    throw new UsageError(`--init "${init}": accepted are s3://bucket/key, file:///path or a local path`, 'fiber.usage.init');
  }

  if (opts.dryRun) {
    const jobId = stageJobId(run, opts.stage, hash);
    if (opts.json) printJson({ run, stage: opts.stage, outcome: 'dry-run', jobId, configHash: hash, init, config });
    else printLines([`Dry run: would submit the ${opts.stage} stage of run ${run} as job ${jobId}.`, 'Resolved config:', JSON.stringify(config, null, 2)]);
    return;
  }

  // BullMQ and ioredis load only past validation: --dry-run and input errors stay fast.
  const [{ RunRegistry }, { openStageQueue }, { submitStage }] = await Promise.all([
    import('../../queue/run-registry.js'), import('../../queue/stage-queue.js'), import('../../queue/submit-stage.js'),
  ]);
  const conn = await connectForCommand(ctx, opts.redisUrl);
  const queue = openStageQueue(conn.redis);
  try {
    const outcome = await submitStage(new RunRegistry(conn.redis), queue, { run, stage: opts.stage, config, configHash: hash, init, now: new Date(), runNameDefaulted: opts.run === undefined });
    ctx.log.info({ run, stage: opts.stage, outcome: outcome.kind, jobId: outcome.jobId }, 'submit');
    if (opts.json) printJson({ run, stage: opts.stage, outcome: outcome.kind, jobId: outcome.jobId, configHash: hash, init, ...('state' in outcome ? { state: outcome.state } : {}) });
    else printLines([...describe(run, opts.stage, outcome), ...fineHint(config, opts.stage)]);
  } finally {
    await queue.close();
    conn.redis.disconnect();
  }
}

/** A stage with no data cannot run: say which field to set, before anything is written. */
function checkStageInputs(config: RunConfig, stage: StageName): void {
  if (config.data[stage].shards.length === 0) {
    throw new ConfigError(`data.${stage}.shards`, `no shards for the ${stage} stage; set it in the config file or with --set data.${stage}.shards=s3://bucket/path/{000000..000099}.tar`);
  }
}

/**
 * data.tokenizer read from here when this machine can reach it, so a tokenizer too big for the
 * model (or not a tokenizer at all) exits 2 before anything is queued. Storage this machine cannot
 * reach is no error: the coordinator checks again at stage start, where the cluster's storage is.
 */
async function checkTokenizerHere(config: RunConfig, ctx: CliContext): Promise<void> {
  const [{ createObjectStore }, { checkTokenizerFitsModel, loadTokenizerWithIdentity }, { s3ConfigFromEnv }] = await Promise.all([
    import('../../storage/object-store.js'), import('../../data/pipeline/tokenizer-identity.js'), import('../../storage/s3-config.js'),
  ]);
  const store = createObjectStore({ s3: s3ConfigFromEnv(ctx.env), retry: { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 1000 } });
  try {
    checkTokenizerFitsModel((await loadTokenizerWithIdentity(config.data.tokenizer, store)).identity, config.model.vocabSize);
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    ctx.log.warn({ tokenizer: config.data.tokenizer, err: err.message }, 'data.tokenizer is not readable from here; the coordinator checks it at stage start');
  } finally {
    await store.close();
  }
}

/** The config is fixed per run, so a coarse submit without fine data cannot get a fine stage later. */
function fineHint(config: RunConfig, stage: StageName): string[] {
  return stage === 'coarse' && config.data.fine.shards.length === 0
    ? ['Note: data.fine.shards is empty, so this run cannot take a fine stage; a fine stage can start from its checkpoint with --init under a new run.']
    : [];
}

function describe(run: string, stage: StageName, o: SubmitOutcome): string[] {
  const watch = `Watch it:  fiber status ${run} --watch`;
  switch (o.kind) {
    case 'queued':
      return [`Queued the ${stage} stage of run ${run}${o.runCreated ? ' (new run)' : ''}.`, `  job ${o.jobId}`, watch];
    case 'waiting':
      return [`Registered the fine stage of run ${run}: it starts from the coarse stage's final checkpoint when that stage completes.`, `  job ${o.jobId}`, watch];
    case 'exists':
      return [`Run ${run} already exists with this config and its ${stage} stage is ${o.state}; nothing was added.`,
        ...(o.state === 'failed' || o.state === 'cancelled' ? [`Continue it from its latest checkpoint:  fiber resume ${run} --stage ${stage}`] : []), watch];
  }
}
