import type { Redis } from 'ioredis';
import type { StageName } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { evalsKey, metricsKey } from '../queue/keys.js';
import { StorageError } from '../errors/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { joinUrl } from '../storage/url.js';
import { encodeEventFile, eventFileName, type ScalarEvent } from './tensorboard-events.js';

/**
 * A stage's history beside its checkpoints, so it outlives Redis (whose lists are its only other
 * copy):
 *
 *   <uri>/<run>/<stage>/history/metrics-00000001-00000050.jsonl   the metrics lines of steps 1..50
 *   <uri>/<run>/<stage>/history/events.out.tfevents.0000000050.fiber   the same as TensorBoard scalars
 *   <uri>/<run>/<stage>/history/evals.jsonl                        every evaluation so far
 *
 * Object stores cannot append, so each checkpoint adds one chunk with the steps since the previous
 * chunk (never a step twice: the newest chunk's last step is where the next one starts; a replay
 * after a restart rewrites the same chunk name). The metrics lines are copied as written, whatever
 * fields they carry. Pruning leaves `history/` alone (it removes step directories only).
 */
export const HISTORY_DIR = 'history';
export const EVALS_FILE = 'evals.jsonl';
const CHUNK = /^metrics-(\d{8})-(\d{8})\.jsonl$/;
const PAGE = 1000;

export function historyDir(stageDirUrl: string): string {
  return joinUrl(stageDirUrl, HISTORY_DIR);
}

export function chunkName(from: number, to: number): string {
  return `metrics-${String(from).padStart(8, '0')}-${String(to).padStart(8, '0')}.jsonl`;
}

export interface HistoryAppend {
  /** Steps written in this chunk (0: nothing new). */
  readonly steps: number;
  readonly evals: number;
  readonly files: readonly string[];
}

/** Where the lines come from: the coordinator's Redis lists, or anything else in a test. */
export interface HistorySource {
  /** Metrics lines of steps in (`after`, `upTo`] (some may be outside or repeated: they are filtered here). */
  metricsAfter(after: number, upTo: number): Promise<string[]>;
  evals(): Promise<string[]>;
}

export function redisHistorySource(redis: Redis, run: string, stage: StageName): HistorySource {
  return {
    metricsAfter: (after, upTo) => tailAfter(redis, metricsKey(run, stage), after, upTo),
    evals: () => redis.lrange(evalsKey(run, stage), 0, -1),
  };
}

/** Append the history up to checkpoint `step`: the metrics of the steps since the last chunk, new evals. */
export async function appendHistory(store: ObjectStore, stageDirUrl: string, step: number, source: HistorySource): Promise<HistoryAppend> {
  const dir = historyDir(stageDirUrl);
  const names = await store.list(dir);
  const lastEnd = names.reduce((m, n) => Math.max(m, Number(CHUNK.exec(n)?.[2] ?? 0)), 0);
  const byStep = new Map<number, { line: string; entry: Record<string, unknown> }>();
  if (step > lastEnd) {
    for (const line of await source.metricsAfter(lastEnd, step)) {
      const entry = parseObject(line);
      const s = entry?.step;
      // A replayed step (epoch restart) appears again later in the list: the later line wins.
      if (typeof s === 'number' && s > lastEnd && s <= step) byStep.set(s, { line, entry: entry! });
    }
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);

  const known = names.includes(EVALS_FILE) ? splitLines((await store.read(joinUrl(dir, EVALS_FILE))).toString('utf8')) : [];
  const seen = new Set(known.map(evalKey));
  const fresh: Array<{ line: string; entry: Record<string, unknown> }> = [];
  for (const line of await source.evals()) {
    const entry = parseObject(line);
    if (!entry || seen.has(evalKey(line))) continue;
    seen.add(evalKey(line));
    fresh.push({ line, entry });
  }
  if (steps.length === 0 && fresh.length === 0) return { steps: 0, evals: 0, files: [] };

  const files: string[] = [];
  const events: ScalarEvent[] = [
    ...steps.map((s) => metricEvent(byStep.get(s)!.entry)),
    ...fresh.map((e) => evalEvent(e.entry)).filter((e): e is ScalarEvent => e !== null),
  ];
  // TensorBoard first: the metrics chunk is what marks these steps as written.
  const eventsName = eventFileName(step, 'fiber');
  await store.write(joinUrl(dir, eventsName), encodeEventFile(events, events[0]?.wallTime ?? Date.now() / 1000));
  files.push(eventsName);
  if (steps.length > 0) {
    const name = chunkName(steps[0]!, step);
    await store.write(joinUrl(dir, name), Buffer.from(steps.map((s) => `${byStep.get(s)!.line}\n`).join('')));
    files.push(name);
  }
  if (fresh.length > 0) {
    await store.write(joinUrl(dir, EVALS_FILE), Buffer.from([...known, ...fresh.map((e) => e.line)].map((l) => `${l}\n`).join('')));
    files.push(EVALS_FILE);
  }
  return { steps: steps.length, evals: fresh.length, files };
}

/**
 * The coordinator's call at each checkpoint. A failed history write never fails the checkpoint:
 * the steps stay in Redis and the next checkpoint's chunk starts where the last written one ended.
 */
export async function appendHistoryQuietly(store: ObjectStore, redis: Redis, run: string, stage: StageName, stageDirUrl: string, step: number, log: Logger): Promise<void> {
  try {
    const out = await appendHistory(store, stageDirUrl, step, redisHistorySource(redis, run, stage));
    if (out.files.length > 0) log.debug({ step, steps: out.steps, evals: out.evals }, 'history written beside the checkpoint');
  } catch (err) {
    log.warn({ step, err: (err as Error).message }, 'could not write the history beside the checkpoint; the next checkpoint retries');
  }
}

/** Every metrics and evals line stored beside a stage's checkpoints, chunks in step order. */
export async function readStageHistory(store: ObjectStore, stageDirUrl: string): Promise<{ metrics: string[]; evals: string[] }> {
  const dir = historyDir(stageDirUrl);
  const names = await store.list(dir);
  const chunks = names.filter((n) => CHUNK.test(n)).sort();
  const metrics: string[] = [];
  for (const c of chunks) metrics.push(...splitLines((await store.read(joinUrl(dir, c))).toString('utf8')));
  let evals: string[] = [];
  if (names.includes(EVALS_FILE)) {
    try {
      evals = splitLines((await store.read(joinUrl(dir, EVALS_FILE))).toString('utf8'));
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'fiber.storage.not_found')) throw err;
    }
  }
  return { metrics, evals };
}

/** Numbers anywhere in a metrics line become scalars: `losses/itc`, `lr`, and whatever fields others add. */
export function metricScalars(entry: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (value: unknown, tag: string) => {
    if (typeof value === 'number') out[tag] = value;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, tag ? `${tag}/${k}` : k);
    }
  };
  for (const [k, v] of Object.entries(entry)) if (k !== 'step' && k !== 't') walk(v, k);
  const { samples, seconds } = entry;
  if (typeof samples === 'number' && typeof seconds === 'number' && seconds > 0 && out.samples_per_sec === undefined) out.samples_per_sec = samples / seconds;
  return out;
}

function metricEvent(entry: Record<string, unknown>): ScalarEvent {
  return { step: entry.step as number, wallTime: typeof entry.t === 'number' ? entry.t / 1000 : Date.now() / 1000, scalars: metricScalars(entry) };
}

function evalEvent(entry: Record<string, unknown>): ScalarEvent | null {
  const { step, task, scores, t } = entry;
  if (typeof step !== 'number' || typeof task !== 'string' || !scores || typeof scores !== 'object') return null;
  const scalars: Record<string, number> = {};
  for (const [k, v] of Object.entries(scores)) if (typeof v === 'number') scalars[`eval/${task}/${k}`] = v;
  return { step, wallTime: typeof t === 'number' ? t / 1000 : Date.now() / 1000, scalars };
}

function evalKey(line: string): string {
  const e = parseObject(line);
  return e ? `${String(e.step)}/${String(e.task)}` : line;
}

function parseObject(line: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(line) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function splitLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/**
 * The list's tail back to the first line at or before step `after`, in pages from the end: the
 * first page is sized for the steps expected (a few replays over), so a checkpoint every step
 * reads a few lines, not a thousand.
 */
async function tailAfter(redis: Redis, key: string, after: number, upTo: number): Promise<string[]> {
  const pages: string[][] = [];
  let size = Math.min(PAGE, 2 * Math.max(0, upTo - after) + 16);
  for (let end = (await redis.llen(key)) - 1; end >= 0; end -= size, size = PAGE) {
    const page = await redis.lrange(key, Math.max(0, end - size + 1), end);
    pages.unshift(page);
    const first = parseObject(page[0] ?? '')?.step;
    if (typeof first === 'number' && first <= after) break;
  }
  return pages.flat();
}
