/** How failed deliveries are tried again: exponential backoff, for a bounded time. */
export interface RetryPolicy {
  /** The wait after the first failure; it doubles with each further one. */
  initialMs: number;
  /** No wait is longer than this. */
  maxDelayMs: number;
  /** An event not delivered this long after it happened is given up. */
  windowMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1_000, maxDelayMs: 10 * 60_000, windowMs: 60 * 60_000 };

/** The wait after `failures` failed attempts (1 for the first). */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 52));
  return Math.min(policy.initialMs * 2 ** exponent, policy.maxDelayMs);
}

/** Retry-After as seconds or an HTTP date, as milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // An HTTP date names a weekday and a zone; a bare number of another shape is not one.
  if (!/^[A-Za-z]{3},/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * When to try an event again after `failures` failed attempts, or null to give it up: after the
 * backoff, or the receiver's Retry-After when that is longer; the last try falls at the end of
 * the window, not after it. Retry-After never shortens the wait: `0` or a past date would have
 * every worker of every replica send the event again at once, for the whole window.
 */
export function nextAttemptAt(policy: RetryPolicy, failures: number, enqueuedAt: number, now: number, retryAfterMs: number | null): number | null {
  const deadline = enqueuedAt + policy.windowMs;
  if (now >= deadline) return null;
  return Math.min(now + Math.max(retryAfterMs ?? 0, backoffMs(policy, failures)), deadline);
}
