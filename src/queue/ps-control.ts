import { z } from 'zod';
import type { Redis } from 'ioredis';
import { parseStoredRunConfig, STAGE_NAMES } from '../config/index.js';
import { parseJsonRecord } from './contract.js';
import { psKeys } from './keys.js';

/**
 * The control plane between the coordinator (shard 0), the shards and the workers, in Redis
 * (keys: psKeys in keys.ts). Small JSON records only: parameters and gradients travel over the
 * shards' TCP port.
 *
 *   fiber:ps:shard:<i>                 shard i's address and start time (ShardRecord), refreshed every 5 s (TTL 15 s)
 *   fiber:ps:active                    the stage being trained (ActiveStage), or absent
 *   fiber:ps:epoch:<e>:ready           HASH shard -> version it loaded for epoch e
 *   fiber:ps:epoch:<e>:version         HASH shard -> last version applied
 *   fiber:ps:epoch:<e>:save            the checkpoint the coordinator asks for (SaveRequest)
 *   fiber:ps:epoch:<e>:saved:<step>    HASH shard -> CheckpointFile JSON, once written
 *   fiber:ps:epoch:<e>:preempt         set by a shard on SIGTERM: checkpoint at the next step
 *   fiber:ps:epoch:<e>:norm:<step>     gradient-norm partials (src/ps/norm-exchange.ts)
 *
 * An epoch is one activation of a stage (a start, or a restart from the latest checkpoint after
 * a shard came back); task job ids carry it, so the work of an abandoned epoch is never counted.
 */
export const SHARD_TTL_S = 15;
export const SHARD_HEARTBEAT_MS = 5000;

const shardRecordSchema = z.object({
  shard: z.number().int().nonnegative(),
  host: z.string(),
  port: z.number().int(),
  pid: z.number().int(),
  /** Identifies one life of the shard process: a restart changes it. */
  startedAt: z.string(),
}).readonly();
export type ShardRecord = z.output<typeof shardRecordSchema>;

/** data.tokenizer as checked at stage start (src/data/pipeline/tokenizer-identity.ts makes it). */
export const tokenizerIdentitySchema = z.object({
  location: z.string(),
  sha256: z.string(),
  vocabSize: z.number().int(),
  specialIds: z.object({ bos: z.number().int(), pad: z.number().int(), eos: z.number().int(), unk: z.number().int(), mask: z.number().int() }).readonly(),
}).readonly();

const activeStageSchema = z.object({
  epoch: z.string(),
  run: z.string(),
  stage: z.enum(STAGE_NAMES),
  configHash: z.string(),
  /** The run config, validated again here: every reader gets a RunConfig, never a cast. */
  config: z.unknown().transform((c) => parseStoredRunConfig(c)),
  numShards: z.number().int().positive(),
  /** Step directory every shard loads its range from; the parameters there are at `startStep`. */
  loadFrom: z.string(),
  startStep: z.number().int().nonnegative(),
  /** Shard lives the epoch was started with (a change means a restart: new epoch). */
  shardLives: z.array(z.string()).readonly(),
  /** Every checkpoint of the stage records it. */
  tokenizer: tokenizerIdentitySchema,
}).readonly();
export type ActiveStage = z.output<typeof activeStageSchema>;

const saveRequestSchema = z.object({ step: z.number().int().nonnegative(), stepDir: z.string() }).readonly();
export type SaveRequest = z.output<typeof saveRequestSchema>;

/** One file of a checkpoint step directory, as a shard reports it and the manifest lists it. */
export const checkpointFileSchema = z.object({
  name: z.string(),
  shard: z.number().int(),
  /** Flat parameter range [flatStart, flatEnd) the file holds. */
  flatStart: z.number().int(),
  flatEnd: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
}).readonly();
export type CheckpointFile = z.output<typeof checkpointFileSchema>;

/**
 * The active stage, or null. Shards read it every 50 ms, so the parse of an unchanged record is
 * remembered (the record only changes when a stage or epoch starts).
 */
let lastActive: { raw: string; value: ActiveStage } | null = null;
export async function readActiveStage(redis: Redis): Promise<ActiveStage | null> {
  const raw = await redis.get(psKeys.active);
  if (raw === null) return null;
  if (lastActive?.raw !== raw) lastActive = { raw, value: parseJsonRecord(activeStageSchema, raw, `${psKeys.active}`) };
  return lastActive.value;
}

export async function readSaveRequest(redis: Redis, epoch: string): Promise<SaveRequest | null> {
  const raw = await redis.get(psKeys.save(epoch));
  return raw === null ? null : parseJsonRecord(saveRequestSchema, raw, psKeys.save(epoch));
}

export async function readShards(redis: Redis, numShards: number): Promise<Array<ShardRecord | null>> {
  if (numShards === 0) return [];
  const values = await redis.mget(...Array.from({ length: numShards }, (_, i) => psKeys.shard(i)));
  return values.map((v, i) => (v ? parseJsonRecord(shardRecordSchema, v, psKeys.shard(i)) : null));
}

export async function hashNumbers(redis: Redis, key: string): Promise<Map<number, number>> {
  const h = await redis.hgetall(key);
  return new Map(Object.entries(h).map(([k, v]) => [Number(k), Number(v)]));
}

export async function savedFiles(redis: Redis, epoch: string, step: number): Promise<Map<number, CheckpointFile>> {
  const key = psKeys.saved(epoch, step);
  const h = await redis.hgetall(key);
  return new Map(Object.entries(h).map(([k, v]) => [Number(k), parseJsonRecord(checkpointFileSchema, v, `${key} shard ${k}`)]));
}
