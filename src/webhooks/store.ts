import type { EventParts } from './event.js';

/** An event handed to one deliverer until it is delivered, retried or dropped (or its lease lapses). */
export interface Delivery {
  /** Its order key: the head of this key's queue. */
  key: string;
  body: string;
  enqueuedAt: number;
  /** Failed attempts so far. */
  failures: number;
  /** Proves the lease is still this deliverer's. */
  lease: string;
}

/** `full`: the queue holds webhook_queue_max events, the event is dropped. `none`: nothing to tell. */
export type QueueResult = 'queued' | 'full' | 'none';

/**
 * The queue of events to deliver: one FIFO per order key (a link: its token's events, then its
 * session's), of which only the head is ever being delivered, so a key's events arrive in order.
 * Each operation is one atomic step, in memory or in Redis, so of several replicas exactly one
 * queues an event heard by all (a session's end) and a dead replica's leased events go to another.
 * It also keeps what the events of a link need after the link itself is gone: the common fields
 * of a pending token (for its revocation or expiry) and of a session (for its end).
 */
export interface WebhookStore {
  /** Queues token.created and watches the token until `expiresAt`. */
  tokenCreated(key: string, event: EventParts, common: string, expiresAt: number): Promise<QueueResult>;
  /** Queues token.revoked or token.expired if the token is still watched, and stops watching it; `none` otherwise. */
  tokenEnded(key: string, event: EventParts): Promise<QueueResult>;
  /** Watched tokens that expired at or before `before`. */
  expiredTokens(before: number, limit: number): Promise<Array<{ key: string; expiresAt: number }>>;
  /**
   * Queues session.redeemed on the token's key, stops watching the token, and keeps the key and
   * common fields for the session's later events (for `ttlMs`, past its longest life).
   */
  sessionRedeemed(key: string, sessionId: string, event: EventParts, fallbackCommon: string, ttlMs: number): Promise<QueueResult>;
  /**
   * Queues a session's event on its link's key; `final` (session.ended) also forgets the session,
   * and queues nothing (`none`) if it was forgotten already: by the replica that told it first.
   */
  sessionEvent(sessionId: string, event: EventParts, fallbackCommon: string, final: boolean): Promise<QueueResult>;
  /** The next event due at `now` whose key no other deliverer holds, leased for `leaseMs`. */
  claim(now: number, leaseMs: number): Promise<Delivery | null>;
  /** Removes the delivered (or given up) head of its key. */
  done(delivery: Delivery, now: number): Promise<void>;
  /** Keeps it at the head of its key, due again `at`; `failed` counts an attempt. */
  retry(delivery: Delivery, at: number, failed: boolean): Promise<void>;
  /** Events queued, across every replica. */
  depth(): Promise<number>;
}
