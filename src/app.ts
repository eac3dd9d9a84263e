import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { originWithPort, publicOrigin as derivePublicOrigin } from './config/index.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import { CONSOLE_CSP, renderErrorPage } from './console/pages.js';
import { registerConsoleRoutes } from './console/routes.js';
import { attachConsoleSockets } from './console/socket.js';
import { SessionPorts } from './console/session-ports.js';
import { CONTROL_BODY_LIMIT } from './control/create-body.js';
import { ApiError } from './control/errors.js';
import { registerControlRoutes } from './control/routes.js';
import { ProxmoxClients } from './proxmox/clients.js';
import { ConsoleService } from './sessions/console-service.js';
import type { ConsoleGrant } from './sessions/grant.js';
import { SessionActivityBuffer } from './sessions/activity-buffer.js';
import { scheduleSessionExpiry } from './sessions/expiry-sweep.js';
import type { SessionLimits } from './sessions/limits.js';
import { GATEWAY_RESTARTING_CLOSE_CODE, LocalViewers, SESSION_ENDED_CLOSE_CODE } from './sessions/local-viewers.js';
import type { SessionStore } from './sessions/store.js';
import { scheduleTicketRenewal } from './sessions/ticket-renewal.js';
import { detached } from './detached.js';
import { StoreUnavailableError } from './redis/errors.js';
import { openStores } from './stores.js';
import { limitConnections } from './security/connection-limits.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import type { TokenStore } from './tokens/store.js';

/** Where the built browser bundle lives: dist/web beside dist/src. */
const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));
const ASSET_BASE = '/assets/';

export interface Gateway {
  readonly app: FastifyInstance;
  readonly publicOrigin: string;
  readonly tokens: TokenStore<ConsoleGrant>;
  readonly sessions: SessionStore;
  /** The viewers whose websockets this process holds. */
  readonly viewers: LocalViewers;
  /** Starts listening; resolves to the bound port. */
  listen(): Promise<number>;
  /**
   * Stops accepting, lets viewers finish for up to `drainMs`, then closes them: ending every
   * session in memory, or, with Redis, leaving the sessions to the other replicas.
   */
  close(drainMs?: number): Promise<void>;
}

/**
 * A request Node's parser refused before fastify saw it (headers too large, malformed): answered
 * in the API's error shape, and the connection closed, since its stream cannot be trusted.
 */
function refuseMalformedRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify(
    tooLarge
      ? { status: 'error', error: 'headers_too_large', message: 'the request line and headers are larger than allowed' }
      : { status: 'error', error: 'invalid_request', message: 'the request could not be parsed' },
  );
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}

/** Paths a browser opens: their errors are pages, not JSON. */
function isPagePath(url: string): boolean {
  return url.startsWith('/vnc/') || url.startsWith('/console/');
}

/** Maps the framework's own refusals (size, media type, malformed body) to the control API's error shape. */
function frameworkError(error: FastifyError): ApiError | null {
  const status = error.statusCode ?? 500;
  if (status === 413) return new ApiError(413, 'payload_too_large', 'the request body is larger than 64 KiB');
  if (status === 415) return new ApiError(415, 'unsupported_media_type', 'send multipart/form-data, application/x-www-form-urlencoded or application/json');
  if (status >= 400 && status < 500) return new ApiError(status, 'invalid_request', error.message);
  return null;
}

export async function createGateway(config: Config, log: Logger): Promise<Gateway> {
  const publicOrigin = derivePublicOrigin(config);
  const https = config.tls_cert_file && config.tls_key_file
    ? { cert: readFileSync(config.tls_cert_file), key: readFileSync(config.tls_key_file) }
    : null;
  const app = Fastify({
    ...(https ? { https } : {}),
    logger: false,
    bodyLimit: CONTROL_BODY_LIMIT,
    // `true` trusts one hop, the proxy in front: its X-Forwarded-For entry (the right-most) is the
    // client. Believing the left-most would let any client name its own address to the throttles.
    trustProxy: config.trust_proxy === true ? (_address: string, hop: number) => hop < 1 : config.trust_proxy,
    // Slow or stalled clients must not hold sockets forever (websockets are not affected).
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    // Fastify's own refusals echo the URL in a shape of their own: the API's shape, and no echo.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as unknown as FastifyReply).code(400).send({ status: 'error', error: 'invalid_request', message: 'the request URL is not valid' });
    },
    clientErrorHandler: (error, socket) => refuseMalformedRequest(error, socket),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = 15_000;
  // Behind proxies every client shares a proxy's address: there only the total is capped.
  limitConnections(app.server, { maxTotal: config.max_connections, maxPerAddress: config.trust_proxy === false ? config.max_connections_per_address : 0 }, log.child('ROUTER'));

  // Its callbacks use what is set up below; they run only once the gateway serves.
  const ports = config.session_ports
    ? new SessionPorts({
      range: config.session_ports,
      host: config.router_ip,
      tls: https,
      originOf: (port) => originWithPort(publicOrigin, port),
      serve: (request, response) => app.routing(request, response),
      attachSockets: (server, origin) => attachConsoleSockets(server, { ...consoleSocketDeps, allowedOrigins: new Set([origin]) }),
      log,
    })
    : null;
  const limits: SessionLimits = {
    maxSessions: config.max_sessions,
    maxViewersPerSession: config.max_viewers_per_session,
    reconnectGraceMs: config.reconnect_grace * 1000,
    idleTimeoutMs: config.idle_timeout * 1000,
  };
  // Its callback uses the metrics made below; tokens expire only once the gateway serves.
  const stores = openStores(config, limits, log, (count) => metrics.tokensExpired.inc(count));
  const { sessions, tokens } = stores;
  const viewers = new LocalViewers();
  const sessionLog = log.child('SESSION');
  sessions.onEnded(({ id, reason }) => {
    log.child('SESSION', { session: id }).info('session ended', { reason });
    viewers.closeSession(id);
    if (ports) detached(sessionLog, 'releasing a session port', () => ports.release(id));
  });
  const activity = new SessionActivityBuffer(sessions, (error) =>
    sessionLog.warn('session activity not recorded', { error: error instanceof Error ? error.message : String(error) }),
  );
  const stopExpiry = scheduleSessionExpiry(sessions, limits, sessionLog);
  const metrics = new GatewayMetrics(sessions);
  const clients = new ProxmoxClients({
    timeoutMs: config.proxmox_timeout * 1000,
    caPem: config.proxmox_ca_pem,
    insecure: config.proxmox_tls_insecure,
  });
  const access = new ConsoleService(clients, sessions, stores.coordination, { maxSessionSeconds: config.session_max_duration }, log.child('PROXMOX'));
  const stopTicketRenewal = scheduleTicketRenewal(sessions, access, log.child('PROXMOX'));

  // The control API takes multipart, urlencoded and JSON bodies; anything else is a 415.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyCookie);
  // Only failures are counted (src/security/failure-throttle.ts), never ordinary traffic.
  // With Redis the counts are the cluster's; while Redis is away the throttle steps aside and the
  // store calls behind it answer 503.
  await app.register(fastifyRateLimit, {
    global: false,
    ...(stores.redis ? { redis: stores.redis.client, nameSpace: `${config.redis_key_prefix}rate-limit:`, skipOnError: true } : {}),
  });
  await app.register(fastifyFormbody, { bodyLimit: CONTROL_BODY_LIMIT });
  await app.register(fastifyMultipart, {
    limits: { fieldSize: CONTROL_BODY_LIMIT, fields: 32, files: 0, parts: 32, headerPairs: 64 },
  });
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: ASSET_BASE,
    index: false,
    cacheControl: false,
    setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
  });

  const csp = CONSOLE_CSP(config.frame_ancestors);
  // A link made now would die with this process: the backend should ask another replica.
  let draining = false;
  // preHandler: it runs once the body is in, so a request begun before the drain is caught too.
  app.addHook('preHandler', async (request, reply) => {
    if (!draining || request.url.split('?')[0] !== '/create') return;
    return reply.code(503).header('retry-after', '5').send({ status: 'error', error: 'shutting_down', message: 'this gateway is shutting down; try again (another replica, or this one once restarted)' });
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', csp);
    }
    return payload;
  });

  const httpLog = log.child('ROUTER');
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof StoreUnavailableError) {
      httpLog.warn('request refused: the shared store is unreachable', { url: request.routeOptions.url, error: error.message });
      reply.code(503).header('retry-after', '5');
      if (isPagePath(request.url)) {
        return reply.type('text/html; charset=utf-8').send(renderErrorPage('Console unavailable', 'The console service is briefly unavailable. Please try again in a few seconds.', ASSET_BASE));
      }
      return reply.send({ status: 'error', error: 'store_unavailable', message: 'the console service is briefly unavailable; try again in a few seconds' });
    }
    const apiError = error instanceof ApiError ? error : frameworkError(error);
    if (apiError) return reply.code(apiError.statusCode).send(apiError.body());
    httpLog.error('request failed', { method: request.method, url: request.routeOptions.url, error: error.message });
    return reply.code(500).send({ status: 'error', error: 'internal_error', message: 'internal error' });
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ status: 'error', error: 'not_found', message: 'no such route' }),
  );

  let boundPort = config.router_port;
  const consoleSocketDeps = {
    log,
    metrics,
    sessions,
    viewers,
    activity,
    access,
    handshakeTimeoutMs: config.proxmox_timeout * 1000,
    clipboardMaxBytes: config.clipboard_max_bytes,
    browserMessagesPerSecond: config.browser_messages_per_second,
    servesHere: (localPort: number | undefined, sessionId: string) => servesHere(localPort, sessionId),
  };
  // A session ended while its port was being opened must not keep the port.
  const openSessionPort = async (pool: SessionPorts, sessionId: string): Promise<string | null> => {
    const origin = await pool.open(sessionId);
    if (origin !== null && !(await sessions.get(sessionId))) {
      await pool.release(sessionId);
      return null;
    }
    return origin;
  };
  const servedAt = (sessionId: string) => ports?.servedAt(sessionId) ?? { origin: publicOrigin, port: boundPort };
  // A session with a port of its own is served there only: not on the main port, nor on another session's.
  const servesHere = (localPort: number | undefined, sessionId: string) => {
    const own = ports?.servedAt(sessionId);
    return own === undefined ? localPort === boundPort || ports === null : own.port === localPort;
  };
  registerControlRoutes(app, { config, log, publicOrigin, servedAt, tokens, sessions, access, metrics, unavailable: () => stores.redis?.unavailable() ?? null });
  registerConsoleRoutes(app, {
    log,
    metrics,
    maxInvalidRedemptions: config.rate_limit_redemptions,
    tokens,
    sessions,
    assetBase: ASSET_BASE,
    // Only framing by another site makes the cookie third-party; 'self' needs no SameSite=None.
    cookiePolicy: { secure: publicOrigin.startsWith('https:'), embeddable: config.frame_ancestors.some((a) => a !== "'self'") },
    servesHere,
    ...(ports ? { openSessionPort: (id: string) => openSessionPort(ports, id) } : {}),
  });
  const sockets = attachConsoleSockets(app.server, { ...consoleSocketDeps, allowedOrigins: new Set([publicOrigin, ...config.allowed_origins]) });

  return {
    app,
    publicOrigin,
    tokens,
    sessions,
    viewers,
    async listen() {
      await app.listen({ host: config.router_ip, port: config.router_port });
      const address = app.server.address();
      boundPort = typeof address === 'object' && address ? address.port : config.router_port;
      httpLog.info(`listening on ${config.router_ip}:${boundPort}, public origin ${publicOrigin}`);
      return boundPort;
    },
    async close(drainMs = 0) {
      draining = true;
      stopTicketRenewal();
      app.server.close();
      // Keep-alive connections with nothing to do would hold the process for connectionTimeout.
      app.server.closeIdleConnections();
      ports?.stopAccepting();
      await viewers.whenEmpty(drainMs);
      stopExpiry();
      await activity.close().catch(() => {});
      if (stores.shared) {
        // Other replicas carry the sessions on: the pages reconnect through the load balancer.
        viewers.closeAll(GATEWAY_RESTARTING_CLOSE_CODE, 'gateway restarting');
      } else {
        // Sessions live in this process only: they end with it.
        for (const { id } of await sessions.live()) await sessions.end(id, 'gateway stopping');
        viewers.closeAll(SESSION_ENDED_CLOSE_CODE, 'session ended');
      }
      sockets.close();
      // Unfinished requests (a slow body) end with the drain, not with their own timeouts.
      app.server.closeAllConnections();
      await ports?.closeAll();
      await app.close();
      await stores.close();
      await clients.close();
    },
  };
}
