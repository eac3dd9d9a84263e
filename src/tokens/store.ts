/**
 * Pending console tokens. A token is redeemable exactly once before it expires; `redeem` must be
 * atomic across every replica that shares the store (the memory store is atomic because the event
 * loop runs one redemption at a time; a Redis store will use an atomic get-and-delete).
 */
export interface TokenStore<T> {
  /** Stores `grant` under a new token; throws TokenLimitError when too many are pending. */
  create(grant: T, ttlMs: number): Promise<{ token: string; expiresAt: number }>;
  /** The grant and its expiry, removed from the store; null when unknown, already used or expired. */
  redeem(token: string): Promise<Redeemed<T> | null>;
  /**
   * Puts a redeemed token back, until its own expiry: for a refusal that is not the user's fault
   * (the gateway is full), so the same link works once there is room.
   */
  restore(token: string, redeemed: Redeemed<T>): Promise<void>;
  /** True when a pending token was removed. */
  revoke(token: string): Promise<boolean>;
  pendingCount(): Promise<number>;
  close(): Promise<void>;
}

export interface Redeemed<T> {
  grant: T;
  expiresAt: number;
}

export class TokenLimitError extends Error {
  constructor(limit: number) {
    super(`too many pending tokens (limit ${limit})`);
  }
}
