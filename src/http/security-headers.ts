import { randomBytes } from 'node:crypto';
import type { FastifyReply, onSendHookHandler } from 'fastify';

/** Nonces of answers whose page may carry <style> elements of its own scripts (xterm.js's). */
const styleNonces = new WeakMap<FastifyReply, string>();

/**
 * A fresh nonce for this answer's CSP `style-src`: the page hands it to the scripts that create
 * style elements. Inline style in the markup stays forbidden.
 */
export function styleNonce(reply: FastifyReply): string {
  const nonce = randomBytes(16).toString('base64');
  styleNonces.set(reply, nonce);
  return nonce;
}

/** `csp` with a nonce source added to its style-src directive. */
export function withStyleNonce(csp: string, nonce: string): string {
  return csp
    .split('; ')
    .map((directive) => (directive.startsWith('style-src ') ? `${directive} 'nonce-${nonce}'` : directive))
    .join('; ');
}

/** Headers every answer carries (security invariant 6); pages also get the console's CSP. */
export function securityHeaders(pageCsp: string): onSendHookHandler {
  return async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      const nonce = styleNonces.get(reply);
      reply.header('content-security-policy', nonce ? withStyleNonce(pageCsp, nonce) : pageCsp);
    }
    return payload;
  };
}
