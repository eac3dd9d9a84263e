import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { storeCall } from '../redis/errors.js';
import type { SecretBox } from '../redis/secret-box.js';
import { TokenLimitError, type Redeemed, type TokenStore } from './store.js';
import { generateToken } from './token.js';

/** A token's key outlives its expiry by this much: expiry is judged by `expiresAt`, the TTL only cleans up. */
const KEY_MARGIN_MS = 60_000;

// Both scripts touch only keys under the {tokens} hash tag: one Cluster node runs each whole.
const CREATE = `
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[6])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
  return #expired`;
const RESTORE = `
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  return 1`;
const REDEEM = `
  local value = redis.call('GET', KEYS[2])
  if not value then return false end
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return value`;

interface Stored<T> {
  grant: T;
  expiresAt: number;
}

export interface RedisTokenStoreOptions {
  redis: Redis | Cluster;
  box: SecretBox;
  prefix: string;
  maxPending: number;
  onExpired?: (count: number) => void;
  now?: () => number;
}

/**
 * Pending tokens in Redis, redeemable once on any replica: redemption gets and deletes in one
 * script, so of any number of concurrent redemptions exactly one sees the grant. A dump opens
 * nothing: keys are named by the token's SHA-256, and grants are sealed under that name.
 */
export class RedisTokenStore<T> implements TokenStore<T> {
  private readonly indexKey: string;
  private readonly now: () => number;

  constructor(private readonly options: RedisTokenStoreOptions) {
    this.indexKey = `${options.prefix}{tokens}:index`;
    this.now = options.now ?? Date.now;
  }

  private names(token: string): { key: string; member: string } {
    const member = createHash('sha256').update(token).digest('hex');
    return { key: `${this.options.prefix}{tokens}:t:${member}`, member };
  }

  async create(grant: T, ttlMs: number): Promise<{ token: string; expiresAt: number }> {
    const token = generateToken();
    const now = this.now();
    const expiresAt = now + ttlMs;
    const { key, member } = this.names(token);
    const sealed = this.options.box.seal(JSON.stringify({ grant, expiresAt } satisfies Stored<T>), key);
    const result = (await storeCall('storing a token', () =>
      this.options.redis.eval(CREATE, 2, this.indexKey, key, now, this.options.maxPending, sealed, ttlMs + KEY_MARGIN_MS, expiresAt, member),
    )) as number;
    if (result < 0) throw new TokenLimitError(this.options.maxPending);
    if (result > 0) this.options.onExpired?.(result);
    return { token, expiresAt };
  }

  async redeem(token: string): Promise<Redeemed<T> | null> {
    const { key, member } = this.names(token);
    const sealed = (await storeCall('redeeming a token', () => this.options.redis.eval(REDEEM, 2, this.indexKey, key, member))) as string | null;
    if (sealed === null) return null;
    let stored: Stored<T>;
    try {
      stored = JSON.parse(this.options.box.open(sealed, key)) as Stored<T>;
    } catch {
      // Sealed with a key this replica does not know, or altered: it opens nothing.
      return null;
    }
    if (stored.expiresAt <= this.now()) {
      this.options.onExpired?.(1);
      return null;
    }
    return stored;
  }

  async restore(token: string, redeemed: Redeemed<T>): Promise<void> {
    const left = redeemed.expiresAt - this.now();
    if (left <= 0) return;
    const { key, member } = this.names(token);
    const sealed = this.options.box.seal(JSON.stringify(redeemed satisfies Stored<T>), key);
    await storeCall('putting a token back', () => this.options.redis.eval(RESTORE, 2, this.indexKey, key, sealed, left + KEY_MARGIN_MS, redeemed.expiresAt, member));
  }

  /** Only a pending token is revoked: one past its expiry, not yet swept, was no longer a link. */
  async revoke(token: string): Promise<boolean> {
    return (await this.redeem(token)) !== null;
  }

  async pendingCount(): Promise<number> {
    return storeCall('counting tokens', () => this.options.redis.zcount(this.indexKey, `(${this.now()}`, '+inf'));
  }

  async close(): Promise<void> {
    // The connection is the gateway's, closed by its owner.
  }
}
