import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { styleNonce } from '../http/security-headers.js';
import { tokenPrefix, type Logger } from '../log.js';
import { PLAYER_VIEW_MS, type PlayerAccess, type PlayerGrant } from '../recordings/player-access.js';
import { RECORDING_ID, type RecordingStore } from '../recordings/store.js';
import { createFailureThrottle } from '../security/failure-throttle.js';
import type { TokenStore } from '../tokens/store.js';
import { TOKEN_PATTERN } from '../tokens/token.js';
import { renderErrorPage, renderInvalidSessionPage, type PageContext } from './pages.js';
import { renderPlayerPage } from './player-page.js';

const PLAYER_COOKIE = 'pvnc_player';

export interface PlayerRouteDeps {
  recordings: RecordingStore;
  playerTokens: TokenStore<PlayerGrant>;
  access: PlayerAccess;
  /** The public origin is https: the cookie travels over TLS only. */
  secureCookie: boolean;
  /** Invalid player links per client address and minute before 429. */
  maxInvalidRedemptions: number;
  pageContext(request: FastifyRequest): PageContext;
  log: Logger;
}

/**
 * The player side: `/play/<token>` redeems a one-time player link for a cookie scoped to the one
 * recording's path and sends the browser to `/player/<id>/`, whose page fetches
 * `/player/<id>/recording` with that cookie.
 */
export function registerPlayerRoutes(app: FastifyInstance, deps: PlayerRouteDeps): void {
  const log = deps.log.child('ROUTER');
  const html = (reply: FastifyReply, status: number, page: string) => reply.code(status).type('text/html; charset=utf-8').send(page);
  const invalidRedemptions = createFailureThrottle(app, 'player', deps.maxInvalidRedemptions);
  const allowed = (request: FastifyRequest, id: string) => RECORDING_ID.test(id) && deps.access.allows(request.cookies[PLAYER_COOKIE], id);

  // HEAD must never redeem (link checkers and previews send it).
  app.head('/play/:token', async (_request, reply) => reply.type('text/html; charset=utf-8').send());
  app.get<{ Params: { token: string } }>('/play/:token', { exposeHeadRoute: false }, async (request, reply) => {
    const wait = await invalidRedemptions.retryAfter(request);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return html(reply, 429, renderErrorPage(deps.pageContext(request), 'message.throttled.title', 'message.throttled.text'));
    }
    const { token } = request.params;
    const redeemed = TOKEN_PATTERN.test(token) ? await deps.playerTokens.redeem(token) : null;
    if (!redeemed || !(await deps.recordings.info(redeemed.grant.recording))) {
      await invalidRedemptions.failed(request);
      log.info('invalid player link', { token_prefix: tokenPrefix(token), client: request.ip });
      return html(reply, 404, renderInvalidSessionPage(deps.pageContext(request)));
    }
    const id = redeemed.grant.recording;
    log.info('player link redeemed', { recording: id, token_prefix: tokenPrefix(token), client: request.ip });
    reply.setCookie(PLAYER_COOKIE, deps.access.issue(id), {
      path: `/player/${id}/`,
      httpOnly: true,
      secure: deps.secureCookie,
      // Lax, not Strict: a link opened from the backend's panel on another site is a cross-site
      // navigation, whose redirect to the player would go without a Strict cookie.
      sameSite: 'lax',
      maxAge: PLAYER_VIEW_MS / 1000,
    });
    return reply.redirect(`/player/${id}/`, 302);
  });

  app.get<{ Params: { id: string } }>('/player/:id/', async (request, reply) => {
    const { id } = request.params;
    const info = allowed(request, id) ? await deps.recordings.info(id) : null;
    if (!info) return html(reply, 403, renderErrorPage(deps.pageContext(request), 'message.unavailable.title', 'message.unavailable.text'));
    const { session_id, tag, vmid, started_at, duration, size, stopped, kind } = info;
    return html(
      reply,
      200,
      // Staff's page, in English whatever the browser asks for (its words are not in the catalogs).
      renderPlayerPage({ ...deps.pageContext(request), lang: 'en' }, {
        recording: { id, kind, session_id, tag, vmid, started_at, duration, size, ...(stopped ? { stopped } : {}) },
        fileUrl: `/player/${id}/recording`,
        // The terminal of an asciicast writes its measurements into <style> elements it creates.
        ...(kind === 'asciicast' ? { styleNonce: styleNonce(reply) } : {}),
      }),
    );
  });

  app.get<{ Params: { id: string } }>('/player/:id/recording', async (request, reply) => {
    const { id } = request.params;
    const found = allowed(request, id) ? await deps.recordings.read(id) : null;
    if (!found) return reply.code(404).send({ status: 'error', error: 'recording_not_found' });
    return reply.type(found.contentType).send(found.stream);
  });
}
