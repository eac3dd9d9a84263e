import type { onSendHookHandler } from 'fastify';

/** Headers every answer carries (security invariant 6); pages also get the console's CSP. */
export function securityHeaders(pageCsp: string): onSendHookHandler {
  return async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', pageCsp);
    }
    return payload;
  };
}
