import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { storeCall } from '../redis/errors.js';
import type { EventParts } from './event.js';
import type { Delivery, QueueResult, WebhookStore } from './store.js';

/**
 * Every key outlives the retry window by far; each push renews them (a key's list: each push to
 * that key). A list can still expire with events in it, when a backlog drains slower than that or
 * Redis evicts it: `counts` holds each key's share of `depth`, so those events leave depth the next
 * time their key is touched rather than filling the queue for good.
 */
const QUEUE_TTL_MS = 3 * 60 * 60 * 1000;
/** Tokens live at most an hour (token_ttl); their watch set is renewed with each new token. */
const WATCH_TTL_MS = 3 * 60 * 60 * 1000;

// Every key is under the {webhooks} hash tag: on Redis Cluster one node holds the whole queue,
// so each script can reach the queue of any order key. KEYS[1] names the tag for routing;
// ARGV[1] is the tag's key prefix.

// recount: how many events a key's list holds once this script took `taken` from it; what else
// depth counted for the key was lost with an expired list and leaves depth too. A key without a
// count (queued before counts existed) is taken at its list's word.
const RECOUNT = `
local function recount(base, key, taken, ttl)
  local counts = base .. 'counts'
  local left = redis.call('LLEN', base .. 'q:' .. key)
  local counted = tonumber(redis.call('HGET', counts, key) or (left + taken))
  if counted > left then redis.call('DECRBY', base .. 'depth', counted - left) end
  if counted ~= left then
    if left > 0 then
      redis.call('HSET', counts, key, left)
      redis.call('PEXPIRE', counts, ttl)
    else redis.call('HDEL', counts, key) end
  end
  return left
end
`;

const PUSH = `${RECOUNT}
local function push(base, key, body, now, max, ttl)
  local fresh = recount(base, key, 0, ttl) == 0
  if tonumber(redis.call('GET', base .. 'depth') or '0') >= tonumber(max) then return 'full' end
  local q = base .. 'q:' .. key
  if fresh then
    -- A lease, failures or due time left from a lost list are not this event's.
    redis.call('HDEL', base .. 'leases', key)
    redis.call('HDEL', base .. 'failures', key)
    redis.call('ZADD', base .. 'ready', now, key)
  else redis.call('ZADD', base .. 'ready', 'NX', now, key) end
  redis.call('HSET', base .. 'counts', key, redis.call('RPUSH', q, cjson.encode({at = now, body = body})))
  redis.call('PEXPIRE', q, ttl)
  redis.call('INCR', base .. 'depth')
  for _, name in ipairs({'ready', 'depth', 'counts', 'leases', 'failures'}) do redis.call('PEXPIRE', base .. name, ttl) end
  return 'queued'
end
`;

const SCRIPTS = {
  // ARGV: base, key, body, common, expiresAt, now, max, ttl, watchTtl
  webhookTokenCreated: `${PUSH}
    local base = ARGV[1]
    redis.call('ZADD', base .. 'watch', ARGV[5], ARGV[2])
    redis.call('HSET', base .. 'watch-common', ARGV[2], ARGV[4])
    redis.call('PEXPIRE', base .. 'watch', ARGV[9])
    redis.call('PEXPIRE', base .. 'watch-common', ARGV[9])
    return push(base, ARGV[2], ARGV[3], ARGV[6], ARGV[7], ARGV[8])`,
  // ARGV: base, key, head, tail, now, max, ttl
  webhookTokenEnded: `${PUSH}
    local base = ARGV[1]
    local common = redis.call('HGET', base .. 'watch-common', ARGV[2])
    if not common then return 'none' end
    redis.call('HDEL', base .. 'watch-common', ARGV[2])
    redis.call('ZREM', base .. 'watch', ARGV[2])
    return push(base, ARGV[2], ARGV[3] .. common .. ARGV[4], ARGV[5], ARGV[6], ARGV[7])`,
  // ARGV: base, key, sessionId, head, tail, fallbackCommon, sessionTtl, now, max, ttl
  webhookSessionRedeemed: `${PUSH}
    local base = ARGV[1]
    local common = redis.call('HGET', base .. 'watch-common', ARGV[2]) or ARGV[6]
    redis.call('HDEL', base .. 'watch-common', ARGV[2])
    redis.call('ZREM', base .. 'watch', ARGV[2])
    local s = base .. 's:' .. ARGV[3]
    redis.call('HSET', s, 'key', ARGV[2], 'common', common)
    redis.call('PEXPIRE', s, ARGV[7])
    return push(base, ARGV[2], ARGV[4] .. common .. ARGV[5], ARGV[8], ARGV[9], ARGV[10])`,
  // ARGV: base, sessionId, head, tail, fallbackCommon, final ('1' or '0'), now, max, ttl
  webhookSessionEvent: `${PUSH}
    local base = ARGV[1]
    local s = base .. 's:' .. ARGV[2]
    local found = redis.call('HMGET', s, 'key', 'common')
    if ARGV[6] == '1' then
      if redis.call('DEL', s) == 0 then return 'none' end
    end
    return push(base, found[1] or ARGV[2], ARGV[3] .. (found[2] or ARGV[5]) .. ARGV[4], ARGV[7], ARGV[8], ARGV[9])`,
  // ARGV: base, now, leaseMs, lease, ttl. A leased key is due again when its lease ends: a dead holder's events go to another replica.
  // Keys whose list is gone are let go on the way, a bounded number per call.
  webhookClaim: `${RECOUNT}
    local base = ARGV[1]
    local key, head
    for _ = 1, 32 do
      key = redis.call('ZRANGEBYSCORE', base .. 'ready', '-inf', ARGV[2], 'LIMIT', 0, 1)[1]
      if not key then return false end
      head = redis.call('LINDEX', base .. 'q:' .. key, 0)
      if head then break end
      recount(base, key, 0, ARGV[5])
      redis.call('ZREM', base .. 'ready', key)
      redis.call('HDEL', base .. 'leases', key)
      redis.call('HDEL', base .. 'failures', key)
    end
    if not head then return false end
    redis.call('ZADD', base .. 'ready', tonumber(ARGV[2]) + tonumber(ARGV[3]), key)
    redis.call('HSET', base .. 'leases', key, ARGV[4])
    redis.call('PEXPIRE', base .. 'leases', ARGV[5])
    return {key, head, redis.call('HGET', base .. 'failures', key) or '0'}`,
  // ARGV: base, key, lease, now, ttl
  webhookDone: `${RECOUNT}
    local base = ARGV[1]
    if redis.call('HGET', base .. 'leases', ARGV[2]) ~= ARGV[3] then return 0 end
    redis.call('HDEL', base .. 'leases', ARGV[2])
    redis.call('HDEL', base .. 'failures', ARGV[2])
    local taken = redis.call('LPOP', base .. 'q:' .. ARGV[2]) and 1 or 0
    if recount(base, ARGV[2], taken, ARGV[5]) > 0 then redis.call('ZADD', base .. 'ready', ARGV[4], ARGV[2])
    else redis.call('ZREM', base .. 'ready', ARGV[2]) end
    return 1`,
  // ARGV: base, key, lease, at, failed, ttl
  webhookRetry: `
    local base = ARGV[1]
    if redis.call('HGET', base .. 'leases', ARGV[2]) ~= ARGV[3] then return 0 end
    redis.call('HDEL', base .. 'leases', ARGV[2])
    if ARGV[5] == '1' then
      redis.call('HINCRBY', base .. 'failures', ARGV[2], 1)
      redis.call('PEXPIRE', base .. 'failures', ARGV[6])
    end
    redis.call('ZADD', base .. 'ready', ARGV[4], ARGV[2])
    return 1`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

export interface RedisWebhookStoreOptions {
  redis: Redis | Cluster;
  /** redis_key_prefix. */
  prefix: string;
  maxQueued: number;
  now?: () => number;
}

/** The queue in Redis, shared by every replica: an event queued survives the replica that queued it. */
export class RedisWebhookStore implements WebhookStore {
  private readonly base: string;
  private readonly tag: string;
  private readonly now: () => number;

  constructor(private readonly options: RedisWebhookStoreOptions) {
    this.base = `${options.prefix}{webhooks}:`;
    this.tag = `${this.base}ready`;
    this.now = options.now ?? Date.now;
  }

  // EVAL, not defineCommand: a command defined now would be missing from an auto-pipeline the
  // session store opened in the same tick. Redis compiles each script once and caches it.
  private async run(what: string, name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    return storeCall(what, () => this.options.redis.eval(SCRIPTS[name], 1, this.tag, this.base, ...args));
  }

  async tokenCreated(key: string, event: EventParts, common: string, expiresAt: number): Promise<QueueResult> {
    const body = `${event.head}${common}${event.tail}`;
    return (await this.run('queueing an event', 'webhookTokenCreated', key, body, common, expiresAt, this.now(), this.options.maxQueued, QUEUE_TTL_MS, WATCH_TTL_MS)) as QueueResult;
  }

  async tokenEnded(key: string, event: EventParts): Promise<QueueResult> {
    return (await this.run('queueing an event', 'webhookTokenEnded', key, event.head, event.tail, this.now(), this.options.maxQueued, QUEUE_TTL_MS)) as QueueResult;
  }

  async expiredTokens(before: number, limit: number): Promise<Array<{ key: string; expiresAt: number }>> {
    const found = await storeCall('reading expired tokens', () => this.options.redis.zrangebyscore(`${this.base}watch`, '-inf', before, 'WITHSCORES', 'LIMIT', 0, limit));
    const due: Array<{ key: string; expiresAt: number }> = [];
    for (let i = 0; i + 1 < found.length; i += 2) due.push({ key: found[i]!, expiresAt: Number(found[i + 1]) });
    return due;
  }

  async sessionRedeemed(key: string, sessionId: string, event: EventParts, fallbackCommon: string, ttlMs: number): Promise<QueueResult> {
    return (await this.run('queueing an event', 'webhookSessionRedeemed', key, sessionId, event.head, event.tail, fallbackCommon, Math.ceil(ttlMs), this.now(), this.options.maxQueued, QUEUE_TTL_MS)) as QueueResult;
  }

  async sessionEvent(sessionId: string, event: EventParts, fallbackCommon: string, final: boolean): Promise<QueueResult> {
    return (await this.run('queueing an event', 'webhookSessionEvent', sessionId, event.head, event.tail, fallbackCommon, final ? '1' : '0', this.now(), this.options.maxQueued, QUEUE_TTL_MS)) as QueueResult;
  }

  async claim(now: number, leaseMs: number): Promise<Delivery | null> {
    const lease = randomBytes(8).toString('hex');
    const found = (await this.run('taking an event to deliver', 'webhookClaim', now, leaseMs, lease, QUEUE_TTL_MS)) as [string, string, string] | null;
    if (!found) return null;
    const [key, entry, failures] = found;
    const { at, body } = JSON.parse(entry) as { at: string; body: string };
    return { key, body, enqueuedAt: Number(at), failures: Number(failures), lease };
  }

  async done(delivery: Delivery, now: number): Promise<void> {
    await this.run('removing a delivered event', 'webhookDone', delivery.key, delivery.lease, now, QUEUE_TTL_MS);
  }

  async retry(delivery: Delivery, at: number, failed: boolean): Promise<void> {
    await this.run('scheduling an event again', 'webhookRetry', delivery.key, delivery.lease, at, failed ? '1' : '0', QUEUE_TTL_MS);
  }

  async depth(): Promise<number> {
    return Math.max(0, Number((await storeCall('counting queued events', () => this.options.redis.get(`${this.base}depth`))) ?? '0'));
  }
}
