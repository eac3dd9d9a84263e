import { generateToken } from './token.js';
import { TokenLimitError, type Redeemed, type TokenStore } from './store.js';

interface Entry<T> {
  grant: T;
  expiresAt: number;
}

export interface MemoryTokenStoreOptions {
  maxPending: number;
  /** How often expired tokens are dropped; they are refused on redemption regardless. */
  sweepIntervalMs?: number;
  onExpired?: (count: number) => void;
  now?: () => number;
}

export class MemoryTokenStore<T> implements TokenStore<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: MemoryTokenStoreOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  async create(grant: T, ttlMs: number): Promise<{ token: string; expiresAt: number }> {
    if (this.entries.size >= this.options.maxPending) {
      this.sweep();
      if (this.entries.size >= this.options.maxPending) throw new TokenLimitError(this.options.maxPending);
    }
    const token = generateToken();
    const expiresAt = this.now() + ttlMs;
    this.entries.set(token, { grant, expiresAt });
    return { token, expiresAt };
  }

  async redeem(token: string): Promise<Redeemed<T> | null> {
    const entry = this.entries.get(token);
    if (!entry) return null;
    // Deleted before anything awaits, so of concurrent redemptions exactly one sees the entry.
    this.entries.delete(token);
    if (entry.expiresAt <= this.now()) {
      this.options.onExpired?.(1);
      return null;
    }
    return { grant: entry.grant, expiresAt: entry.expiresAt };
  }

  async restore(token: string, redeemed: Redeemed<T>): Promise<void> {
    if (redeemed.expiresAt > this.now()) this.entries.set(token, { grant: redeemed.grant, expiresAt: redeemed.expiresAt });
  }

  /** Only a pending token is revoked: one past its expiry, not yet swept, was no longer a link. */
  async revoke(token: string): Promise<boolean> {
    return (await this.redeem(token)) !== null;
  }

  async pendingCount(): Promise<number> {
    const now = this.now();
    let pending = 0;
    for (const entry of this.entries.values()) if (entry.expiresAt > now) pending++;
    return pending;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private sweep(): void {
    const now = this.now();
    let expired = 0;
    for (const [token, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(token);
        expired++;
      }
    }
    if (expired > 0) this.options.onExpired?.(expired);
  }
}
