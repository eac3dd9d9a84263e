import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenPrefix, type Logger } from '../log.js';
import { styleNonce } from '../http/security-headers.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { PowerAction } from '../proxmox/client.js';
import { isProxmoxError } from '../proxmox/errors.js';
import { isSharedLink, type LinkGrant, type SharedLinkGrant } from '../sessions/grant.js';
import type { ConsoleEvents } from '../sessions/events.js';
import { sessionState, sessionTitle } from '../sessions/record.js';
import { SessionLimitError, type SessionStore } from '../sessions/store.js';
import { createFailureThrottle } from '../security/failure-throttle.js';
import type { TokenStore } from '../tokens/store.js';
import { TOKEN_PATTERN } from '../tokens/token.js';
import { pickLanguage } from './i18n/index.js';
import type { EndedOutcome, OutcomeCode } from './outcomes.js';
import { renderConsolePage, renderErrorPage, renderInvalidSessionPage, renderOutcomePage, type PageContext } from './pages.js';
import type { BrandAssets } from './brand.js';
import type { GuestPower } from './power.js';
import { SESSION_COOKIE, sessionCookieOptions, type CookiePolicy } from './session-cookie.js';

export interface ConsoleRouteDeps {
  log: Logger;
  /** Invalid redemptions per client address and minute before it gets 429. */
  maxInvalidRedemptions: number;
  metrics: GatewayMetrics;
  tokens: TokenStore<LinkGrant>;
  sessions: SessionStore;
  cookiePolicy: CookiePolicy;
  assetBase: string;
  /** With `session_ports`: opens the session's own port and gives its origin (null: none free). */
  openSessionPort?(sessionId: string): Promise<string | null>;
  /** With `session_ports`: the origin of a live session's own port (a shared link joins it there). */
  sessionOrigin?(sessionId: string): string;
  /** Whether a request that came in on `localPort` may reach the session (session_ports: only on its own). */
  servesHere(localPort: number | undefined, sessionId: string): boolean;
  /** The sessions' guests as their credentials see them; without it the state route reports none. */
  power?: GuestPower;
  /** `frame_ancestors`: a framed page posts its events to these origins only. */
  frameAncestors?: readonly string[];
  /** The operator's `brand`, read at start (loadBrand). */
  brand?: BrandAssets | null;
  /** Told of each redemption (webhooks). */
  events?: ConsoleEvents;
}

/**
 * How a session ended, by the reason its store was given (src/sessions/limits.ts): a page that
 * asks afterwards can say "expired" rather than only "ended".
 */
const ENDED_BY_REASON: Readonly<Record<string, EndedOutcome>> = {
  'session lifetime reached': 'session_expired',
  'no viewer reconnected in time': 'session_expired',
  'no input within idle_timeout': 'session_idle',
};
export function endedOutcome(reason: string): EndedOutcome {
  return ENDED_BY_REASON[reason] ?? 'session_ended';
}

/** Pages ask right after the end; an hour covers a laptop woken from sleep. */
const ENDS_REMEMBERED_MS = 60 * 60 * 1000;
const MAX_ENDS_REMEMBERED = 20_000;

/** The outcomes of sessions ended lately, by id (ids are unguessable: this tells nobody else anything). */
class RecentEnds {
  private readonly ends = new Map<string, { outcome: EndedOutcome; at: number }>();

  add(id: string, reason: string): void {
    const now = Date.now();
    if (this.ends.size >= MAX_ENDS_REMEMBERED) {
      // Insertion order is end order: the oldest go first.
      for (const [key, entry] of this.ends) {
        if (this.ends.size < MAX_ENDS_REMEMBERED && now - entry.at < ENDS_REMEMBERED_MS) break;
        this.ends.delete(key);
      }
    }
    this.ends.set(id, { outcome: endedOutcome(reason), at: now });
  }

  outcome(id: string): EndedOutcome | undefined {
    const entry = this.ends.get(id);
    return entry && Date.now() - entry.at < ENDS_REMEMBERED_MS ? entry.outcome : undefined;
  }
}

/** A query flag as the page sends it (`?guest=1`). */
const flag = (value: unknown): boolean => value === '1' || value === 'true';

export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { tokens, sessions, cookiePolicy, metrics } = deps;
  const log = deps.log.child('ROUTER');
  const recentEnds = new RecentEnds();
  sessions.onEnded(({ id, reason }) => recentEnds.add(id, reason));

  const html = (reply: FastifyReply, status: number, page: string) => reply.code(status).type('text/html; charset=utf-8').send(page);
  const { logo, style } = deps.brand ?? {};
  if (logo) {
    // Shown as an image; opened on its own, an SVG must not run anything in the gateway's origin.
    app.get(logo.path, async (_request, reply) =>
      reply.type(logo.type).header('cache-control', 'no-cache').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox").send(logo.body),
    );
  }
  if (style) app.get(style.path, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(style.body));
  const invalidSession = (request: FastifyRequest, reply: FastifyReply) => html(reply, 404, renderInvalidSessionPage(pageContext(request, deps)));
  const busy = (request: FastifyRequest, reply: FastifyReply) => html(reply, 503, renderErrorPage(pageContext(request, deps), 'message.unavailable.title', 'message.busy.text'));

  // HEAD must never redeem (link checkers and previews send it), so it is its own route.
  app.head('/vnc/:token', async (_request, reply) => reply.type('text/html; charset=utf-8').send());
  const invalidRedemptions = createFailureThrottle(app, 'redeem', deps.maxInvalidRedemptions);
  app.get<{ Params: { token: string } }>('/vnc/:token', { exposeHeadRoute: false }, async (request, reply) => {
    const wait = await invalidRedemptions.retryAfter(request);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return html(reply, 429, renderErrorPage(pageContext(request, deps), 'message.throttled.title', 'message.throttled.text'));
    }
    const { token } = request.params;
    const redeemed = TOKEN_PATTERN.test(token) ? await tokens.redeem(token) : null;
    if (!redeemed) {
      await invalidRedemptions.failed(request);
      metrics.redemptionsInvalid.inc();
      log.info('invalid redemption', { token_prefix: tokenPrefix(token), client: request.ip });
      return invalidSession(request, reply);
    }
    if (isSharedLink(redeemed.grant)) return joinShared(reply, token, redeemed.grant, () => invalidSession(request, reply));
    let created: Awaited<ReturnType<SessionStore['create']>>;
    try {
      created = await sessions.create(redeemed.grant, tokenPrefix(token));
    } catch (error) {
      // Not the user's fault: the same link works once there is room.
      await tokens.restore(token, redeemed);
      if (!(error instanceof SessionLimitError)) throw error;
      log.warn('session limit reached', { token_prefix: tokenPrefix(token) });
      return busy(request, reply);
    }
    const { record: session, cookieSecret } = created;
    const sessionLog = log.child('ROUTER', { session: session.id });
    // Cookies do not depend on the port: the one set here is sent to the session's own port too.
    const origin = deps.openSessionPort ? await deps.openSessionPort(session.id) : '';
    if (origin === null) {
      await sessions.end(session.id, 'no free session port');
      await tokens.restore(token, redeemed);
      sessionLog.warn('no free port in session_ports', { token_prefix: tokenPrefix(token) });
      return busy(request, reply);
    }
    metrics.tokensRedeemed.inc();
    sessionLog.info('token redeemed', { token_prefix: tokenPrefix(token), vmid: redeemed.grant.vmid });
    const userAgent = request.headers['user-agent'];
    deps.events?.sessionRedeemed(token, session, { address: request.ip, ...(userAgent !== undefined ? { userAgent } : {}) });
    reply.setCookie(SESSION_COOKIE, cookieSecret, sessionCookieOptions(session.id, cookiePolicy));
    return reply.redirect(`${origin}/console/${session.id}/`, 302);
  });

  /** A shared link's browser gets a cookie of its own for the live session, or the invalid-link page once it ended. */
  const joinShared = async (reply: FastifyReply, token: string, { join }: SharedLinkGrant, gone: () => FastifyReply) => {
    const link = tokenPrefix(token);
    const cookieSecret = await sessions.addBrowser(join.sessionId, { link, viewOnly: join.viewOnly });
    const sessionLog = log.child('ROUTER', { session: join.sessionId });
    if (cookieSecret === null) {
      sessionLog.info('shared link of an ended session', { token_prefix: link });
      return gone();
    }
    metrics.tokensRedeemed.inc();
    sessionLog.info('shared link redeemed', { token_prefix: link, view_only: join.viewOnly });
    reply.setCookie(SESSION_COOKIE, cookieSecret, sessionCookieOptions(join.sessionId, cookiePolicy));
    return reply.redirect(`${deps.sessionOrigin?.(join.sessionId) ?? ''}/console/${join.sessionId}/`, 302);
  };

  const authenticated = async (request: FastifyRequest, id: string) =>
    TOKEN_PATTERN.test(id) && deps.servesHere(request.socket.localPort, id) ? sessions.authenticate(id, request.cookies[SESSION_COOKIE]) : null;

  /** Why a browser without the session's cookie gets no console, when the gateway can tell. */
  const refusalOutcome = async (request: FastifyRequest, id: string): Promise<OutcomeCode | null> => {
    // Over plain HTTP the cookie is SameSite=Lax, which browsers withhold inside another site's frame.
    if (request.headers['sec-fetch-dest'] === 'iframe' && !cookiePolicy.secure && request.cookies[SESSION_COOKIE] === undefined) return 'frame_insecure';
    const ended = recentEnds.outcome(id);
    if (ended) return ended;
    if (TOKEN_PATTERN.test(id) && deps.servesHere(request.socket.localPort, id) && (await sessions.get(id))) return 'link_used';
    return null;
  };

  app.get<{ Params: { id: string } }>('/console/:id/', async (request, reply) => {
    const session = await authenticated(request, request.params.id);
    const ctx = pageContext(request, deps, session?.grant.lang);
    if (!session) {
      const outcome = await refusalOutcome(request, request.params.id);
      return html(reply, 403, outcome ? renderOutcomePage(ctx, outcome) : renderErrorPage(ctx, 'message.unavailable.title', 'message.unavailable.text'));
    }
    return html(
      reply,
      200,
      renderConsolePage({
        ...ctx,
        sessionId: session.id,
        title: sessionTitle(session),
        consoleKind: session.grant.console,
        viewOnly: session.access.viewOnly,
        frameAncestors: deps.frameAncestors ?? [],
        ...(session.grant.power?.length && deps.power && !session.access.viewOnly ? { power: session.grant.power } : {}),
        // xterm.js writes its measurements and theme into <style> elements it creates.
        ...(session.grant.console === 'xterm' ? { styleNonce: styleNonce(reply) } : {}),
      }),
    );
  });
  app.get<{ Params: { id: string } }>('/console/:id', async (request, reply) =>
    TOKEN_PATTERN.test(request.params.id) ? reply.redirect(`/console/${request.params.id}/`, 301) : reply.callNotFound(),
  );

  // A header no form or image can send: a page of another site would need CORS, which is not given.
  app.post<{ Params: { id: string; action: string } }>('/console/:id/power/:action', async (request, reply) => {
    const session = await authenticated(request, request.params.id);
    if (!session) return reply.code(404).send({ status: 'error', error: 'session_not_found' });
    if (request.headers['x-proxmoxvnc'] !== 'power') return reply.code(403).send({ status: 'error', error: 'forbidden' });
    const action = request.params.action as PowerAction;
    if (!deps.power || session.access.viewOnly || !session.grant.power?.includes(action)) return reply.code(403).send({ status: 'error', error: 'not_allowed' });
    try {
      await deps.power.act(session, action);
      return { status: 'success' };
    } catch (error) {
      if (!isProxmoxError(error)) throw error;
      // The code only: the message may name hosts and nodes.
      return reply.code(error.httpStatus).send({ status: 'error', error: error.code });
    }
  });

  app.get<{ Params: { id: string }; Querystring: { guest?: string } }>('/console/:id/state', async (request, reply) => {
    const session = await authenticated(request, request.params.id);
    if (!session) return reply.code(404).send({ state: 'ended', outcome: recentEnds.outcome(request.params.id) ?? 'session_ended' });
    const answer = { state: sessionState(session), title: sessionTitle(session) };
    // Asked by a page that lost its console: whether the guest explains it (and when it runs again).
    if (flag(request.query.guest) && deps.power) return { ...answer, guest: await deps.power.condition(session) };
    return answer;
  });
}

/** The language and assets of a page for this request: the browser's language until a link says otherwise. */
export function pageContext(request: FastifyRequest, deps: Pick<ConsoleRouteDeps, 'assetBase' | 'brand'>, linkLang?: string): PageContext {
  const accept = request.headers['accept-language'];
  const lang = pickLanguage(linkLang, typeof accept === 'string' ? accept : undefined);
  return deps.brand ? { assetBase: deps.assetBase, lang, brand: deps.brand.page } : { assetBase: deps.assetBase, lang };
}
