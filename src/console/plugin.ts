import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { RETRY_AFTER_SECONDS, StoreUnavailableError } from '../redis/errors.js';
import { renderErrorPage } from './pages.js';
import { pageContext, registerConsoleRoutes, type ConsoleRouteDeps } from './routes.js';
import { registerPlayerRoutes, type PlayerRouteDeps } from './player-routes.js';
import type { SessionPorts } from './session-ports.js';
import { attachConsoleSockets, type ConsoleSocketDeps } from './socket.js';

/** Where the built browser bundle lives: dist/web beside dist/src. */
const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));
export interface ConsoleSideOptions {
  routes: ConsoleRouteDeps;
  /** Everything the websocket needs but the origins, which differ per port. */
  sockets: Omit<ConsoleSocketDeps, 'allowedOrigins'>;
  /** Origins a page on the main port may be served from: the public origin and `allowed_origins`. */
  allowedOrigins: Set<string>;
  /** With `session_ports`: each session's own port, closed with the gateway. */
  ports: SessionPorts | null;
  /** With `recording_dir`: the recording player behind its one-time links. */
  player?: Omit<PlayerRouteDeps, 'pageContext'>;
}

/**
 * The browser-facing side: redemption, pages, assets and the console websocket. Its errors are
 * pages, not JSON: a browser shows them.
 */
export const consoleSide: FastifyPluginAsync<ConsoleSideOptions> = async (app, options) => {
  const log = options.routes.log.child('ROUTER');
  const { assetBase, cookiePolicy } = options.routes;
  if (cookiePolicy.embeddable && !cookiePolicy.secure) {
    // Over plain HTTP the session cookie cannot be SameSite=None: browsers keep it out of frames on other sites.
    log.warn('frame_ancestors is set but the public origin is not https: consoles framed by another site cannot connect (serve HTTPS or set an https public_url)');
  }
  await app.register(fastifyCookie);
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: assetBase,
    index: false,
    cacheControl: false,
    setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    reply.type('text/html; charset=utf-8');
    const ctx = pageContext(request, options.routes);
    if (error instanceof StoreUnavailableError) {
      log.warn('request refused: the shared store is unreachable', { url: request.routeOptions.url, error });
      return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send(renderErrorPage(ctx, 'message.unavailable.title', 'message.store.text'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(renderErrorPage(ctx, 'message.bad_request.title', 'message.bad_request.text'));
    log.error('request failed', { method: request.method, url: request.routeOptions.url, error });
    return reply.code(500).send(renderErrorPage(ctx, 'message.unavailable.title', 'message.failed.text'));
  });

  registerConsoleRoutes(app, options.routes);
  if (options.player) registerPlayerRoutes(app, { ...options.player, pageContext: (request) => pageContext(request, options.routes) });
  const sockets = attachConsoleSockets(app.server, { ...options.sockets, allowedOrigins: options.allowedOrigins });
  app.addHook('onClose', async () => {
    sockets.close();
    await options.ports?.closeAll();
  });
};
