import { repeatDetached } from '../detached.js';
import type { Logger } from '../log.js';
import type { SessionLimits } from './limits.js';
import type { SessionStore } from './store.js';

/**
 * How often session limits are checked: often enough that a short reconnect grace or idle
 * timeout (tests use fractions of a second) ends on time, at most once a second otherwise.
 */
export function expiryInterval(limits: SessionLimits): number {
  const shortest = Math.min(limits.reconnectGraceMs, limits.idleTimeoutMs > 0 ? limits.idleTimeoutMs : Infinity);
  return Math.max(50, Math.min(1000, shortest / 4));
}

/** Ends sessions whose time is up, judged from the shared record; returns the function that stops it. */
export function scheduleSessionExpiry(store: SessionStore, limits: SessionLimits, log: Logger): () => void {
  return repeatDetached(log, 'session expiry sweep', expiryInterval(limits), () => store.endDue());
}
