import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Brute-force brake (security invariant 5): a client address that failed `maxPerMinute` times
 * within a minute is refused before its next attempt is even checked, so guessing stays slow
 * even for an attempt that would have been right. Counting is @fastify/rate-limit's.
 */
export interface FailureThrottle {
  /** Seconds the client must wait, or 0 when it may try. */
  retryAfter(request: FastifyRequest): Promise<number>;
  failed(request: FastifyRequest): Promise<void>;
}

export function createFailureThrottle(app: FastifyInstance, name: string, maxPerMinute: number): FailureThrottle {
  const count = app.createRateLimit({
    max: maxPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `${name}:${request.ip}`,
  });
  return {
    async retryAfter(request) {
      const limit = await count(request, { increment: false });
      return !limit.isAllowed && limit.remaining === 0 ? Math.max(1, limit.ttlInSeconds) : 0;
    },
    async failed(request) {
      await count(request);
    },
  };
}
