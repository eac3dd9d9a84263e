import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Coordination } from '../sessions/coordination.js';
import { KeyedLock } from '../sessions/keyed-lock.js';
import { storeCall } from './errors.js';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const POLL_MS = 25;

/**
 * Leases and locks in Redis, each a key set with NX and an expiry, so a replica that dies holding
 * one blocks nobody for longer than its expiry. Within the process a local lock queues waiters
 * first, so only one of them polls Redis at a time.
 */
export class RedisCoordination implements Coordination {
  private readonly local = new KeyedLock();

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  async claim(name: string, ttlMs: number): Promise<boolean> {
    const set = await storeCall('claiming a lease', () => this.redis.set(`${this.prefix}lease:{${name}}`, '1', 'PX', ttlMs, 'NX'));
    return set === 'OK';
  }

  async lock(key: string, maxHoldMs: number): Promise<() => void> {
    const releaseLocal = await this.local.acquire(key, maxHoldMs);
    const name = `${this.prefix}lock:{${key}}`;
    const holder = randomBytes(8).toString('hex');
    const deadline = Date.now() + maxHoldMs;
    try {
      while ((await storeCall('taking a lock', () => this.redis.set(name, holder, 'PX', maxHoldMs, 'NX'))) !== 'OK') {
        // A holder elsewhere gives it up or its expiry does: waiting longer than that is pointless.
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (error) {
      releaseLocal();
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      releaseLocal();
      this.redis.eval(RELEASE, 1, name, holder).catch(() => {
        // Redis away: the key's expiry releases it.
      });
    };
  }
}
