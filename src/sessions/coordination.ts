import { KeyedLock } from './keyed-lock.js';

/**
 * What replicas must agree on beyond the session records: work done once per cluster (a lease)
 * and a guest's consoles opened one at a time (a lock), since each vncproxy replaces the guest's
 * VNC password and fails a connection still authenticating elsewhere.
 */
export interface Coordination {
  /** True for the one replica that gets `name` for `ttlMs`. */
  claim(name: string, ttlMs: number): Promise<boolean>;
  /** Waits for `key`; the lock is given up by the returned function, or after `maxHoldMs`. */
  lock(key: string, maxHoldMs: number): Promise<() => void>;
}

/** One process: every claim is its own, and locks are in memory. */
export class LocalCoordination implements Coordination {
  private readonly locks = new KeyedLock();

  async claim(): Promise<boolean> {
    return true;
  }

  lock(key: string, maxHoldMs: number): Promise<() => void> {
    return this.locks.acquire(key, maxHoldMs);
  }
}
