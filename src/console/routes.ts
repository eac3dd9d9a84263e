import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenPrefix, type Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ConsoleGrant } from '../sessions/grant.js';
import { sessionState, sessionTitle } from '../sessions/record.js';
import { SessionLimitError, type SessionStore } from '../sessions/store.js';
import { createFailureThrottle } from '../security/failure-throttle.js';
import type { TokenStore } from '../tokens/store.js';
import { TOKEN_PATTERN } from '../tokens/token.js';
import { renderConsolePage, renderErrorPage, renderInvalidSessionPage } from './pages.js';
import { SESSION_COOKIE, sessionCookieOptions, type CookiePolicy } from './session-cookie.js';

export interface ConsoleRouteDeps {
  log: Logger;
  /** Invalid redemptions per client address and minute before it gets 429. */
  maxInvalidRedemptions: number;
  metrics: GatewayMetrics;
  tokens: TokenStore<ConsoleGrant>;
  sessions: SessionStore;
  cookiePolicy: CookiePolicy;
  assetBase: string;
  /** With `session_ports`: opens the session's own port and gives its origin (null: none free). */
  openSessionPort?(sessionId: string): Promise<string | null>;
  /** Whether a request that came in on `localPort` may reach the session (session_ports: only on its own). */
  servesHere(localPort: number | undefined, sessionId: string): boolean;
}

export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { tokens, sessions, cookiePolicy, assetBase, metrics } = deps;
  const log = deps.log.child('ROUTER');

  const invalidSession = (reply: FastifyReply) => reply.code(404).type('text/html; charset=utf-8').send(renderInvalidSessionPage(assetBase));
  const busy = (reply: FastifyReply) =>
    reply
      .code(503)
      .type('text/html; charset=utf-8')
      .send(renderErrorPage('Console unavailable', 'The console service is busy. Please try again in a few minutes.', assetBase));

  // HEAD must never redeem (link checkers and previews send it), so it is its own route.
  app.head('/vnc/:token', async (_request, reply) => reply.type('text/html; charset=utf-8').send());
  const invalidRedemptions = createFailureThrottle(app, 'redeem', deps.maxInvalidRedemptions);
  app.get<{ Params: { token: string } }>('/vnc/:token', { exposeHeadRoute: false }, async (request, reply) => {
    const wait = await invalidRedemptions.retryAfter(request);
    if (wait > 0) {
      return reply
        .code(429)
        .header('retry-after', String(wait))
        .type('text/html; charset=utf-8')
        .send(renderErrorPage('Too many attempts', 'Too many invalid console links were opened from your address. Please wait a minute.', assetBase));
    }
    const { token } = request.params;
    const redeemed = TOKEN_PATTERN.test(token) ? await tokens.redeem(token) : null;
    if (!redeemed) {
      await invalidRedemptions.failed(request);
      metrics.redemptionsInvalid.inc();
      log.info('invalid redemption', { token_prefix: tokenPrefix(token), client: request.ip });
      return invalidSession(reply);
    }
    let created: Awaited<ReturnType<SessionStore['create']>>;
    try {
      created = await sessions.create(redeemed.grant, tokenPrefix(token));
    } catch (error) {
      // Not the user's fault: the same link works once there is room.
      await tokens.restore(token, redeemed);
      if (!(error instanceof SessionLimitError)) throw error;
      log.warn('session limit reached', { token_prefix: tokenPrefix(token) });
      return busy(reply);
    }
    const { record: session, cookieSecret } = created;
    const sessionLog = log.child('ROUTER', { session: session.id });
    // Cookies do not depend on the port: the one set here is sent to the session's own port too.
    const origin = deps.openSessionPort ? await deps.openSessionPort(session.id) : '';
    if (origin === null) {
      await sessions.end(session.id, 'no free session port');
      await tokens.restore(token, redeemed);
      sessionLog.warn('no free port in session_ports', { token_prefix: tokenPrefix(token) });
      return busy(reply);
    }
    metrics.tokensRedeemed.inc();
    sessionLog.info('token redeemed', { token_prefix: tokenPrefix(token), vmid: redeemed.grant.vmid });
    reply.setCookie(SESSION_COOKIE, cookieSecret, sessionCookieOptions(session.id, cookiePolicy));
    return reply.redirect(`${origin}/console/${session.id}/`, 302);
  });

  const authenticated = async (request: FastifyRequest, id: string) =>
    TOKEN_PATTERN.test(id) && deps.servesHere(request.socket.localPort, id) ? sessions.authenticate(id, request.cookies[SESSION_COOKIE]) : null;

  app.get<{ Params: { id: string } }>('/console/:id/', async (request, reply) => {
    const session = await authenticated(request, request.params.id);
    if (!session) {
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(renderErrorPage('Console unavailable', 'This console session has ended or belongs to another browser. Open the console again from your control panel.', assetBase));
    }
    return reply.type('text/html; charset=utf-8').send(
      renderConsolePage({
        sessionId: session.id,
        title: sessionTitle(session),
        consoleKind: session.grant.console,
        viewOnly: session.grant.viewOnly,
        assetBase,
      }),
    );
  });
  app.get<{ Params: { id: string } }>('/console/:id', async (request, reply) =>
    TOKEN_PATTERN.test(request.params.id) ? reply.redirect(`/console/${request.params.id}/`, 301) : reply.callNotFound(),
  );

  app.get<{ Params: { id: string } }>('/console/:id/state', async (request, reply) => {
    const session = await authenticated(request, request.params.id);
    if (!session) return reply.code(404).send({ state: 'ended' });
    return { state: sessionState(session), title: sessionTitle(session) };
  });
}
