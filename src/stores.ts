import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import { connectRedis, type RedisConnection } from './redis/connection.js';
import { RedisCoordination } from './redis/coordination.js';
import { parseSecretKey, SecretBox } from './redis/secret-box.js';
import { LocalCoordination, type Coordination } from './sessions/coordination.js';
import type { LinkGrant } from './sessions/grant.js';
import type { SessionLimits } from './sessions/limits.js';
import { MemorySessionStore } from './sessions/memory-store.js';
import { RedisSessionStore } from './sessions/redis-store.js';
import type { SessionStore } from './sessions/store.js';
import { MemoryTokenStore } from './tokens/memory-store.js';
import { RedisTokenStore } from './tokens/redis-store.js';
import type { TokenStore } from './tokens/store.js';
import type { PlayerGrant } from './recordings/player-access.js';

export interface Stores {
  sessions: SessionStore;
  tokens: TokenStore<LinkGrant>;
  /** One-time links to the recording player (POST /recordings/<id>/link). */
  playerTokens: TokenStore<PlayerGrant>;
  /** Set with redis_url: shared by the rate limits too. */
  redis: RedisConnection | null;
  /** Whether sessions outlive this process (other replicas carry them on). */
  shared: boolean;
  coordination: Coordination;
  /** Why tokens and sessions cannot be served now (for /healthz), or null. */
  unavailable(): string | null;
  close(): Promise<void>;
}

/** In this process's memory, or with redis_url in Redis shared by every replica, behind the same interfaces. */
export function openStores(config: Config, limits: SessionLimits, log: Logger, onTokensExpired: (count: number) => void): Stores {
  if (config.redis_url === undefined) {
    const sessions = new MemorySessionStore(limits);
    const tokens = new MemoryTokenStore<LinkGrant>({ maxPending: config.max_pending_tokens, onExpired: onTokensExpired });
    const playerTokens = new MemoryTokenStore<PlayerGrant>({ maxPending: config.max_pending_tokens });
    return {
      sessions,
      tokens,
      playerTokens,
      redis: null,
      shared: false,
      coordination: new LocalCoordination(),
      unavailable: () => null,
      async close() {
        await tokens.close();
        await playerTokens.close();
        await sessions.close();
      },
    };
  }
  // The schema has checked both keys; a missing one cannot get here.
  const key = parseSecretKey(config.redis_secret_key ?? '');
  const previous = config.redis_secret_key_previous === undefined ? null : parseSecretKey(config.redis_secret_key_previous);
  if (!key) throw new Error('redis_secret_key is required with redis_url');
  const box = new SecretBox(key, previous ? [previous] : []);
  const redisLog = log.child('REDIS');
  const redis = connectRedis({ url: config.redis_url, caPem: config.redis_ca_pem, cluster: config.redis_cluster }, redisLog);
  const prefix = config.redis_key_prefix;
  const sessions = new RedisSessionStore({
    redis: redis.client,
    subscriber: redis.subscriber,
    box,
    prefix,
    limits,
    onUnreadable: (id, error) => redisLog.warn('a session in Redis cannot be read', { session: id, error }),
  });
  const tokens = new RedisTokenStore<LinkGrant>({ redis: redis.client, box, prefix, maxPending: config.max_pending_tokens, onExpired: onTokensExpired });
  const playerTokens = new RedisTokenStore<PlayerGrant>({ redis: redis.client, box, prefix: `${prefix}player:`, maxPending: config.max_pending_tokens });
  return {
    sessions,
    tokens,
    playerTokens,
    redis,
    shared: true,
    coordination: new RedisCoordination(redis.client, prefix),
    unavailable: () => redis.unavailable(),
    async close() {
      await tokens.close();
      await sessions.close();
      await redis.close();
    },
  };
}
