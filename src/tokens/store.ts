/**
 * Pending console tokens. A token is redeemable exactly once before it expires; `redeem` must be
 * atomic across every replica that shares the store (the memory store is atomic because the event
 * loop runs one redemption at a time; a Redis store will use an atomic get-and-delete).
 */
export interface TokenStore<T> {
  /** Stores `grant` under a new token; throws TokenLimitError when too many are pending. */
  create(grant: T, ttlMs: number): Promise<{ token: string; expiresAt: number }>;
  /** The grant, removed from the store; null when unknown, already used or expired. */
  redeem(token: string): Promise<T | null>;
  /** True when a pending token was removed. */
  revoke(token: string): Promise<boolean>;
  pendingCount(): Promise<number>;
  close(): Promise<void>;
}

export class TokenLimitError extends Error {
  constructor(limit: number) {
    super(`too many pending tokens (limit ${limit})`);
  }
}
