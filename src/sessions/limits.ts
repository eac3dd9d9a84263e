import { liveViewers, type SessionRecord } from './record.js';

export interface SessionLimits {
  maxSessions: number;
  maxViewersPerSession: number;
  /** How long a session without viewers (never connected, or all left) waits for one. */
  reconnectGraceMs: number;
  /** A session without input for this long ends (0: never). */
  idleTimeoutMs: number;
}

export type DueCheck =
  | { kind: 'end'; reason: string }
  /** Nobody watches any more (its viewers' replica died): the reconnect grace starts now. */
  | { kind: 'unwatched' }
  | { kind: 'later'; at: number };

/**
 * Whether a session's time is up, judged from its record alone, so every replica reaches the same
 * verdict and none ends a session watched on another. 'later' gives when to look again: never
 * after the earliest moment any limit could run out.
 */
export function checkDue(record: SessionRecord, now: number, limits: SessionLimits, isLive: (replica: string) => boolean): DueCheck {
  if (now >= record.expiresAt) return { kind: 'end', reason: 'session lifetime reached' };
  let at = record.expiresAt;
  if (limits.idleTimeoutMs > 0) {
    const idleEnd = record.lastInputAt + limits.idleTimeoutMs;
    if (now >= idleEnd) return { kind: 'end', reason: 'no input within idle_timeout' };
    at = Math.min(at, idleEnd);
  }
  if (liveViewers(record, isLive) === 0) {
    if (record.unwatchedSince === undefined) return { kind: 'unwatched' };
    const graceEnd = record.unwatchedSince + limits.reconnectGraceMs;
    if (now >= graceEnd) return { kind: 'end', reason: 'no viewer reconnected in time' };
    at = Math.min(at, graceEnd);
  } else {
    // A viewer may leave at any moment; its grace cannot end sooner than this.
    at = Math.min(at, now + limits.reconnectGraceMs);
  }
  return { kind: 'later', at };
}
