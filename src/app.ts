import { readFileSync } from 'node:fs';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { originWithPort, publicOrigin as derivePublicOrigin } from './config/index.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import { CONSOLE_CSP } from './console/pages.js';
import { loadBrand } from './console/brand.js';
import { consoleSide } from './console/plugin.js';
import { GuestPower } from './console/power.js';
import { attachConsoleSockets } from './console/socket.js';
import { SessionPorts } from './console/session-ports.js';
import { SharedTerminals } from './console/term/shared-terminal.js';
import { CONTROL_BODY_LIMIT } from './control/create-body.js';
import { frameworkError } from './control/errors.js';
import { controlApi } from './control/plugin.js';
import { clientAddressOf, proxyTrust } from './http/client-address.js';
import { hardenHttpServer, refuseUnparsedRequest } from './http/server-hardening.js';
import { securityHeaders } from './http/security-headers.js';
import { ProxmoxClients } from './proxmox/clients.js';
import { createHostPolicy } from './proxmox/host-policy.js';
import { ConsoleService } from './sessions/console-service.js';
import type { LinkGrant } from './sessions/grant.js';
import { SessionActivityBuffer } from './sessions/activity-buffer.js';
import { scheduleSessionExpiry } from './sessions/expiry-sweep.js';
import type { SessionLimits } from './sessions/limits.js';
import { GATEWAY_RESTARTING_CLOSE_CODE, LocalViewers, SESSION_ENDED_CLOSE_CODE } from './sessions/local-viewers.js';
import { scheduleLostEndCheck } from './sessions/lost-end-check.js';
import type { SessionStore } from './sessions/store.js';
import { scheduleTicketRenewal } from './sessions/ticket-renewal.js';
import { noEvents } from './sessions/events.js';
import { startWebhooks } from './webhooks/index.js';
import { detached, repeatDetached } from './detached.js';
import { PlayerAccess } from './recordings/player-access.js';
import { Recorders } from './recordings/recorders.js';
import { RecordingStore } from './recordings/store.js';
import { parseSecretKey } from './redis/secret-box.js';
import { openStores } from './stores.js';
import { createConnectionLimiter } from './security/connection-limits.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import type { TokenStore } from './tokens/store.js';

const ASSET_BASE = '/assets/';

export interface Gateway {
  readonly app: FastifyInstance;
  /** The origin links name; with router_port 0 and no public_url, known once listening. */
  readonly publicOrigin: string;
  readonly tokens: TokenStore<LinkGrant>;
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
 * The composition root: makes the stores and services, hands them to the control API and the
 * console side (two fastify plugins), and tears them down in reverse order of making (onClose
 * hooks run last-registered first).
 */
export async function createGateway(config: Config, log: Logger): Promise<Gateway> {
  let publicOrigin = derivePublicOrigin(config);
  const https = config.tls_cert_file && config.tls_key_file
    ? { cert: readFileSync(config.tls_cert_file), key: readFileSync(config.tls_key_file) }
    : null;
  const app = Fastify({
    ...(https ? { https } : {}),
    logger: false,
    bodyLimit: CONTROL_BODY_LIMIT,
    trustProxy: proxyTrust(config.trust_proxy),
    return503OnClosing: true,
    // Fastify's own refusals echo the URL in a shape of their own: the API's shape, and no echo.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as unknown as FastifyReply).code(400).send({ status: 'error', error: 'invalid_request', message: 'the request URL is not valid' });
    },
    clientErrorHandler: (error, socket) => refuseUnparsedRequest(error, socket),
  }) as unknown as FastifyInstance;
  // Behind proxies every client shares a proxy's address: there only the total is capped.
  const connections = createConnectionLimiter(
    { maxTotal: config.max_connections, maxPerAddress: config.trust_proxy === false ? config.max_connections_per_address : 0 },
    log.child('ROUTER'),
  );
  hardenHttpServer(app.server);
  connections.guard(app.server);

  const limits: SessionLimits = {
    maxSessions: config.max_sessions,
    maxViewersPerSession: config.max_viewers_per_session,
    reconnectGraceMs: config.reconnect_grace * 1000,
    idleTimeoutMs: config.idle_timeout * 1000,
  };
  // Its callback uses the metrics made below; tokens expire only once the gateway serves.
  const stores = openStores(config, limits, log, (count) => metrics.tokensExpired.inc(count));
  app.addHook('onClose', () => stores.close());
  const { sessions, tokens } = stores;
  const metrics = new GatewayMetrics(sessions);
  // Closed before the stores it queues in (onClose hooks run last-registered first).
  const webhooks = startWebhooks(config, { redis: stores.redis, registry: metrics.registry, log });
  if (webhooks) app.addHook('onClose', () => webhooks.close());
  const events = webhooks?.events ?? noEvents;
  sessions.onEnded((ended) => events.sessionEnded(ended));
  const hosts = createHostPolicy(config.proxmox_hosts_allowed);
  const clients = new ProxmoxClients({
    timeoutMs: config.proxmox_timeout * 1000,
    caPem: config.proxmox_ca_pem,
    insecure: config.proxmox_tls_insecure,
    hosts,
    observe: (route, outcome, seconds) => metrics.proxmoxCallSeconds.labels(route, outcome).observe(seconds),
  });
  app.addHook('onClose', () => clients.close());
  const access = new ConsoleService(clients, sessions, stores.coordination, { maxSessionSeconds: config.session_max_duration }, log.child('PROXMOX'));
  const sessionLog = log.child('SESSION');
  const activity = new SessionActivityBuffer(sessions, (error) =>
    sessionLog.warn('session activity not recorded', { error }),
  );
  app.addHook('onClose', () => activity.close().catch(() => {}));
  const stopExpiry = scheduleSessionExpiry(sessions, limits, sessionLog);
  const stopTicketRenewal = scheduleTicketRenewal(sessions, access, log.child('PROXMOX'));
  const viewers = new LocalViewers();
  const recordings = config.recording_dir === undefined ? undefined : await openRecordings(config, log);
  if (recordings) app.addHook('onClose', () => recordings.stop());
  // A text console's terminal outlives its last viewer by the reconnect grace, as its session does.
  const terminals = new SharedTerminals({ graceMs: config.reconnect_grace * 1000, openTimeoutMs: config.proxmox_timeout * 1000, log });
  app.addHook('onClose', () => terminals.closeAll());
  app.addHook('onClose', async () => {
    stopTicketRenewal();
    stopExpiry();
  });

  let boundPort = config.router_port;
  // Its callbacks use what is set up below; they run only once the gateway serves.
  const ports = config.session_ports
    ? new SessionPorts({
      range: config.session_ports,
      host: config.router_ip,
      tls: https,
      originOf: (port) => originWithPort(publicOrigin, port),
      serve: (request, response) => app.routing(request, response),
      attachSockets: (server, origin) => attachConsoleSockets(server, { ...consoleSockets, allowedOrigins: new Set([origin]) }),
      prepareServer: (server) => {
        hardenHttpServer(server);
        connections.guard(server);
        server.on('clientError', refuseUnparsedRequest);
      },
      log,
    })
    : null;
  // What a session holds in this process, let go when its end is heard or found out late.
  const endHere = (id: string) => {
    viewers.closeSession(id);
    terminals.end(id);
    if (ports) detached(sessionLog, 'releasing a session port', () => ports.release(id));
  };
  sessions.onEnded(({ id, reason }) => {
    log.child('SESSION', { session: id }).info('session ended', { reason });
    endHere(id);
  });
  const stopLostEndCheck = scheduleLostEndCheck(sessions, () => [...viewers.sessionIds(), ...terminals.sessionIds()], endHere, sessionLog);
  app.addHook('onClose', async () => stopLostEndCheck());
  const servedAt = (sessionId: string) => ports?.servedAt(sessionId) ?? { origin: publicOrigin, port: boundPort };
  // A session with a port of its own is served there only: not on the main port, nor on another session's.
  const servesHere = (localPort: number | undefined, sessionId: string) => {
    const own = ports?.servedAt(sessionId);
    return own === undefined ? localPort === boundPort || ports === null : own.port === localPort;
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
  const consoleSockets = {
    log,
    metrics,
    sessions,
    viewers,
    activity,
    access,
    events,
    clientAddress: clientAddressOf(proxyTrust(config.trust_proxy)),
    terminals,
    ...(recordings ? { recorders: recordings.recorders } : {}),
    handshakeTimeoutMs: config.proxmox_timeout * 1000,
    clipboardMaxBytes: config.clipboard_max_bytes,
    browserMessagesPerSecond: config.browser_messages_per_second,
    servesHere,
  };

  // Only failures are counted (src/security/failure-throttle.ts), never ordinary traffic.
  // With Redis the counts are the cluster's; while Redis is away the throttle steps aside and the
  // store calls behind it answer 503.
  await app.register(fastifyRateLimit, {
    global: false,
    ...(stores.redis ? { redis: stores.redis.client, nameSpace: `${config.redis_key_prefix}rate-limit:`, skipOnError: true } : {}),
  });
  app.addHook('onSend', securityHeaders(CONSOLE_CSP(config.frame_ancestors)));
  const guestPower = new GuestPower(clients, log.child('PROXMOX'), metrics, events);
  let draining = false;
  const allowedOrigins = new Set([publicOrigin, ...config.allowed_origins]);
  await app.register(controlApi, {
    config,
    log,
    publicOrigin: () => publicOrigin,
    servedAt,
    tokens,
    sessions,
    access,
    metrics,
    hosts,
    power: guestPower,
    events,
    ...(recordings ? { recordings: recordings.store } : {}),
    playerTokens: stores.playerTokens,
    unavailable: () => stores.unavailable(),
    draining: () => draining,
  });
  await app.register(consoleSide, {
    routes: {
      log,
      metrics,
      maxInvalidRedemptions: config.rate_limit_redemptions,
      tokens,
      sessions,
      assetBase: ASSET_BASE,
      // Only framing by another site makes the cookie third-party; 'self' needs no SameSite=None.
      cookiePolicy: { secure: publicOrigin.startsWith('https:'), embeddable: config.frame_ancestors.some((a) => a !== "'self'") },
      servesHere,
      power: guestPower,
      frameAncestors: config.frame_ancestors,
      brand: loadBrand(config.brand, ASSET_BASE),
      events,
      ...(ports ? { openSessionPort: (id: string) => openSessionPort(ports, id), sessionOrigin: (id: string) => ports.servedAt(id)?.origin ?? '' } : {}),
    },
    sockets: consoleSockets,
    allowedOrigins,
    ports,
    ...(recordings
      ? {
          player: {
            recordings: recordings.store,
            playerTokens: stores.playerTokens,
            // Replicas share redis_secret_key: a player cookie made by one is good on all.
            access: new PlayerAccess(config.redis_secret_key === undefined ? null : parseSecretKey(config.redis_secret_key)),
            secureCookie: publicOrigin.startsWith('https:'),
            maxInvalidRedemptions: config.rate_limit_redemptions,
            log,
          },
        }
      : {}),
  });
  const notFound = { status: 'error', error: 'not_found', message: 'no such route' };
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(notFound));
  // Outside both plugins (an unknown path whose body the framework refused first, say): still
  // the API's shape, and an unknown path stays a 404 whatever its body.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (request.is404) return reply.code(404).send(notFound);
    const apiError = frameworkError(error);
    if (apiError) return reply.code(apiError.statusCode).send(apiError.body());
    log.error('request failed', { method: request.method, url: request.routeOptions.url, error });
    return reply.code(500).send({ status: 'error', error: 'internal_error', message: 'internal error' });
  });
  // Before the server closes, while the stores can still record it: the viewers go first.
  app.addHook('preClose', async () => {
    if (stores.shared) {
      // Other replicas carry the sessions on: the pages reconnect through the load balancer.
      viewers.closeAll(GATEWAY_RESTARTING_CLOSE_CODE, 'gateway restarting');
    } else {
      // Sessions live in this process only: they end with it.
      for (const { id } of await sessions.live()) await sessions.end(id, 'gateway stopping');
      viewers.closeAll(SESSION_ENDED_CLOSE_CODE, 'session ended');
    }
    // Unfinished requests (a slow body) end with the drain, not with their own timeouts.
    app.server.closeAllConnections();
  });

  const httpLog = log.child('ROUTER');
  return {
    app,
    get publicOrigin() {
      return publicOrigin;
    },
    tokens,
    sessions,
    viewers,
    async listen() {
      await app.listen({ host: config.router_ip, port: config.router_port });
      const address = app.server.address();
      boundPort = typeof address === 'object' && address ? address.port : config.router_port;
      if (config.router_port === 0 && config.public_url === undefined) {
        // Port 0 named no port: the links and the websocket's Origin check take the bound one.
        allowedOrigins.delete(publicOrigin);
        publicOrigin = derivePublicOrigin({ ...config, router_port: boundPort });
        allowedOrigins.add(publicOrigin);
      }
      httpLog.info(`listening on ${config.router_ip}:${boundPort}, public origin ${publicOrigin}`);
      return boundPort;
    },
    async close(drainMs = 0) {
      draining = true;
      app.server.close();
      // Keep-alive connections with nothing to do would hold the process until they time out.
      app.server.closeIdleConnections();
      ports?.stopAccepting();
      await viewers.whenEmpty(drainMs);
      await app.close();
    },
  };
}

/** How often recordings past `recording_retention` are looked for (and once at start). */
const RECORDING_SWEEP_MS = 60 * 60 * 1000;

/** The recording folder, made at start (a folder the gateway cannot write stops it, naming the folder). */
async function openRecordings(config: Config, log: Logger): Promise<{ store: RecordingStore; recorders: Recorders; stop(): Promise<void> }> {
  const recordLog = log.child('RECORD');
  const dir = config.recording_dir as string;
  const store = new RecordingStore({
    dir,
    maxBytes: config.recording_max_bytes,
    retentionDays: config.recording_retention,
    onError: (what, error) => recordLog.warn(`${what} failed`, { error }),
  });
  try {
    await store.prepare();
  } catch (error) {
    throw new Error(`recording_dir ${dir} cannot be used: ${(error as Error).message}`, { cause: error });
  }
  const sweep = async () => {
    const removed = await store.sweep();
    if (removed > 0) recordLog.info('recordings past recording_retention deleted', { count: removed });
  };
  detached(recordLog, 'the recording retention sweep', sweep);
  const stopSweep = repeatDetached(recordLog, 'the recording retention sweep', RECORDING_SWEEP_MS, sweep);
  return {
    store,
    recorders: new Recorders(store, log),
    async stop() {
      stopSweep();
      await store.close();
    },
  };
}
