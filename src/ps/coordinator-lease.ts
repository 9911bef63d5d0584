import type { Redis } from 'ioredis';
import { FiberError } from '../errors/index.js';
import { psKeys } from '../queue/keys.js';

/** Who holds the coordinator lease: what a standby names in its message. */
export interface LeaseHolder {
  /** Fencing token: larger for every new holder (INCR), so a deposed one's writes are refused. */
  readonly token: number;
  readonly host: string;
  readonly pid: number;
  /** The holder's --shards. */
  readonly shards: number;
  /** When it took the lease (ISO). */
  readonly since: string;
}

export type AcquireResult = { readonly acquired: true; readonly holder: LeaseHolder } | { readonly acquired: false; readonly holder: LeaseHolder };

/** A coordinator write refused because the lease is gone or belongs to a newer holder. */
export class LeaseLostError extends FiberError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('fiber.ps.lease_lost', 'runtime', message, details);
  }
}

// KEYS[1] lease, KEYS[2] token counter; ARGV host, pid, shards, since, ttlMs. Returns the holder's JSON
// and 1 when it is us. Taking the token inside the script keeps SET NX and INCR one atomic step.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then return {cur, 0} end
local token = redis.call('INCR', KEYS[2])
local v = cjson.encode({token = token, host = ARGV[1], pid = tonumber(ARGV[2]), shards = tonumber(ARGV[3]), since = ARGV[4]})
redis.call('SET', KEYS[1], v, 'PX', tonumber(ARGV[5]))
return {v, 1}`;

// Is the lease ours (KEYS[1] lease, KEYS[2] token counter, token, ttlMs, our holder JSON)? A lease
// that expired while nobody else took it (the counter still ends at our token) is taken back: a
// long synchronous pause (fiber-base init) must not depose a coordinator that no one replaced.
const OURS = `
local function ours(token, ttl, holder)
  local cur = redis.call('GET', KEYS[1])
  if cur then return cjson.decode(cur).token == token end
  if tonumber(redis.call('GET', KEYS[2]) or '0') ~= token then return false end
  redis.call('SET', KEYS[1], holder, 'PX', ttl)
  return true
end
`;

// Compare-and-set on the token: renew (PEXPIRE) or release (DEL) only our own lease.
const RENEW = `${OURS}
if not ours(tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]) then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if not cur or cjson.decode(cur).token ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

// A fenced write: KEYS[1] lease, KEYS[2] token counter, KEYS[3] target; ARGV token, ttlMs, holder
// JSON, op ('set' | 'del'), value, ttlSeconds ('0': none).
const FENCED = `${OURS}
if not ours(tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]) then return 0 end
if ARGV[4] == 'del' then redis.call('DEL', KEYS[3])
elseif tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[3], ARGV[5], 'EX', tonumber(ARGV[6]))
else redis.call('SET', KEYS[3], ARGV[5]) end
return 1`;

export interface LeaseOptions {
  readonly host: string;
  readonly pid: number;
  readonly shards: number;
  /** How long the lease lasts without a renewal: a dead holder is replaced after at most this. @defaultValue 30 s */
  readonly ttlMs?: number;
}

/**
 * One coordinator per Redis namespace: a lease in Redis (SET NX PX, renewed by compare-and-set)
 * with a fencing token from an INCR counter. Every write that moves a stage goes through
 * `set`/`del` here, which a Lua script performs only while the lease still carries our token,
 * so a coordinator that was paused, partitioned or replaced cannot move a stage after the fact.
 */
export class CoordinatorLease {
  readonly ttlMs: number;
  private held: LeaseHolder | null = null;
  /** The lease's value as we wrote it: what a renewal puts back after an unnoticed expiry. */
  private heldRaw = '';

  constructor(private readonly redis: Redis, private readonly o: LeaseOptions) {
    this.ttlMs = o.ttlMs ?? 30_000;
  }

  /** Our token while we hold the lease, else null. */
  get token(): number | null {
    return this.held?.token ?? null;
  }

  async tryAcquire(): Promise<AcquireResult> {
    const [raw, mine] = (await this.redis.eval(ACQUIRE, 2, psKeys.coordinatorLease, psKeys.coordinatorToken,
      this.o.host, String(this.o.pid), String(this.o.shards), new Date().toISOString(), String(this.ttlMs))) as [string, number];
    const holder = parseHolder(raw);
    if (mine === 1) {
      this.held = holder;
      this.heldRaw = raw;
    }
    return { acquired: mine === 1, holder };
  }

  /** Extend our lease; false when it expired or another holder took it (we are deposed). */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const ok = (await this.redis.eval(RENEW, 2, psKeys.coordinatorLease, psKeys.coordinatorToken, String(this.held.token), String(this.ttlMs), this.heldRaw)) === 1;
    if (!ok) this.held = null;
    return ok;
  }

  /** Give the lease up at once (a clean stop), so a standby need not wait out the TTL. Idempotent. */
  async release(): Promise<void> {
    if (!this.held) return;
    const token = this.held.token;
    this.held = null;
    await this.redis.eval(RELEASE, 1, psKeys.coordinatorLease, String(token));
  }

  /** SET key (EX ttlSeconds when given) only while we hold the lease; LeaseLostError otherwise. */
  async set(key: string, value: string, ttlSeconds = 0): Promise<void> {
    await this.fenced(key, 'set', value, ttlSeconds);
  }

  async del(key: string): Promise<void> {
    await this.fenced(key, 'del', '', 0);
  }

  /** Throws LeaseLostError unless the lease is still ours (before a write Redis cannot fence: a queue add, a storage commit). */
  async assertHeld(): Promise<void> {
    const token = this.requireToken();
    if (!(await this.renew())) throw lost(token, await readLeaseHolder(this.redis));
  }

  private async fenced(key: string, op: 'set' | 'del', value: string, ttlSeconds: number): Promise<void> {
    const token = this.requireToken();
    const ok = (await this.redis.eval(FENCED, 3, psKeys.coordinatorLease, psKeys.coordinatorToken, key, String(token), String(this.ttlMs), this.heldRaw, op, value, String(ttlSeconds))) === 1;
    if (!ok) {
      this.held = null;
      throw lost(token, await readLeaseHolder(this.redis));
    }
  }

  private requireToken(): number {
    if (!this.held) throw new LeaseLostError('this process does not hold the coordinator lease');
    return this.held.token;
  }
}

/** The current holder, or null when nobody holds the lease. */
export async function readLeaseHolder(redis: Redis): Promise<LeaseHolder | null> {
  const raw = await redis.get(psKeys.coordinatorLease);
  return raw === null ? null : parseHolder(raw);
}

/** "host (pid 12, --shards 2) since 2026-12-05T16:00:00Z": how messages name a holder. */
export function describeHolder(h: LeaseHolder): string {
  return `${h.host} (pid ${h.pid}, --shards ${h.shards}, token ${h.token}) since ${h.since}`;
}

function lost(token: number, holder: LeaseHolder | null): LeaseLostError {
  return new LeaseLostError(`the coordinator lease (token ${token}) is ${holder ? `held by ${describeHolder(holder)}` : 'expired'}: this coordinator was deposed and must not move a stage`,
    { token, holder: holder?.token ?? null });
}

function parseHolder(raw: string): LeaseHolder {
  const v = JSON.parse(raw) as Partial<LeaseHolder>;
  return { token: Number(v.token), host: String(v.host), pid: Number(v.pid), shards: Number(v.shards), since: String(v.since) };
}
