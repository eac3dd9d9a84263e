import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { tokenPrefix, type Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { ProxmoxError } from '../proxmox/errors.js';
import type { HostPolicy } from '../proxmox/host-policy.js';
import { networkErrorDetail } from '../proxmox/tls.js';
import { addressMatcher } from '../security/address-list.js';
import { createFailureThrottle } from '../security/failure-throttle.js';
import type { ConsoleService } from '../sessions/console-service.js';
import type { ConsoleEvents } from '../sessions/events.js';
import type { ConsoleGrant, LinkGrant } from '../sessions/grant.js';
import type { SessionStore } from '../sessions/store.js';
import { TOKEN_PATTERN } from '../tokens/token.js';
import { TokenLimitError, type TokenStore } from '../tokens/store.js';
import { readCreateBody } from './create-body.js';
import { createParamsParser } from './create-params.js';
import { linkParamsParser } from './link-params.js';
import type { GuestPower } from '../console/power.js';
import { ApiError, invalidParams } from './errors.js';
import { createSecretCheck } from './secret.js';
import { statusEntry } from './status-view.js';
import type { PlayerGrant } from '../recordings/player-access.js';
import type { RecordingStore } from '../recordings/store.js';
import { registerRecordingRoutes } from './recording-routes.js';

export interface ControlDeps {
  config: Config;
  log: Logger;
  /** The origin links name (known once the gateway listens). */
  publicOrigin(): string;
  /** Where a session's console is served: the main port, or its own with `session_ports`. */
  servedAt(sessionId: string): { origin: string; port: number };
  tokens: TokenStore<LinkGrant>;
  sessions: SessionStore;
  /** Why the gateway cannot serve now (its shared store is unreachable), or null. */
  unavailable(): string | null;
  access: ConsoleService;
  metrics: GatewayMetrics;
  /** Checks VM.PowerMgmt for links that offer power actions. */
  power?: GuestPower;
  /** `proxmox_hosts_allowed`. */
  hosts: HostPolicy;
  /** Told of links made and revoked (webhooks). */
  events?: ConsoleEvents;
  /** With `recording_dir`. */
  recordings?: RecordingStore;
  playerTokens: TokenStore<PlayerGrant>;
}

const UNAUTHORIZED = new ApiError(401, 'unauthorized', 'missing or wrong Authorization header');

export function registerControlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  const { config, tokens, sessions, access, metrics } = deps;
  const log = deps.log.child('CONTROL');
  const secretMatches = createSecretCheck(config.authorization);
  const parseCreateParams = createParamsParser({ maxTokenTtlSeconds: config.token_ttl, maxSessionSeconds: config.session_max_duration, recordingAvailable: config.recording_dir !== undefined });

  const authFailures = createFailureThrottle(app, 'auth', config.rate_limit_auth_failures);
  // The backend's own addresses: whoever shares them cannot lock the backend out with wrong secrets.
  const exempt = addressMatcher(config.control_allowed_from);
  const requireSecret = async (request: FastifyRequest, reply: FastifyReply) => {
    if (exempt(request.ip)) {
      if (secretMatches(request.headers.authorization)) return;
      log.warn('control API authentication failed', { client: request.ip });
      throw UNAUTHORIZED;
    }
    const wait = await authFailures.retryAfter(request);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new ApiError(429, 'too_many_requests', `too many failed attempts from this address; retry in ${wait} s`);
    }
    if (secretMatches(request.headers.authorization)) return;
    await authFailures.failed(request);
    log.warn('control API authentication failed', { client: request.ip });
    throw UNAUTHORIZED;
  };

  app.post('/create', { onRequest: requireSecret }, async (request) => {
    const params = parseCreateParams(await readCreateBody(request));
    if (params instanceof ApiError) throw params;
    if (!(await deps.hosts.allows(params.hostname))) {
      throw invalidParams({ hostname: 'is not among the Proxmox hosts this gateway may reach (proxmox_hosts_allowed)' });
    }
    let grant: ConsoleGrant;
    try {
      // The page's language is the link's own, not something Proxmox is asked about.
      grant = { ...(await access.grant(params)), ...(params.lang ? { lang: params.lang } : {}), ...(params.power ? { power: params.power } : {}), ...(params.tag !== undefined ? { tag: params.tag } : {}), ...(params.record ? { record: true } : {}) };
      // Without validation nothing is asked of Proxmox now: a missing privilege shows when the user acts.
      if (params.power && params.validate && deps.power && !(await deps.power.mayPower(grant))) {
        throw new ProxmoxError('permission_denied', `The Proxmox identity lacks VM.PowerMgmt on /vms/${params.vmid}, which power needs.`);
      }
    } catch (error) {
      if (error instanceof ProxmoxError) {
        metrics.proxmoxErrors.labels(error.code).inc();
        log.warn('console check failed', {
          vmid: params.vmid,
          node: params.node,
          code: error.code,
          ...(error.cause !== undefined ? { detail: networkErrorDetail(error.cause) } : {}),
        });
        throw new ApiError(error.httpStatus, error.code, error.message);
      }
      throw error;
    }
    try {
      const { token, expiresAt } = await tokens.create(grant, (params.ttlSeconds ?? config.token_ttl) * 1000);
      metrics.tokensCreated.inc();
      deps.events?.tokenCreated(token, grant, expiresAt);
      log.info('token created', { token_prefix: tokenPrefix(token), vmid: grant.vmid, node: grant.node, validated: params.validate });
      return { status: 'success', token, url: `${deps.publicOrigin()}/vnc/${token}`, expires_at: new Date(expiresAt).toISOString() };
    } catch (error) {
      if (error instanceof TokenLimitError) throw new ApiError(503, 'too_many_tokens', error.message);
      throw error;
    }
  });
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url: '/create',
    exposeHeadRoute: false,
    handler: async (_request, reply) => {
      reply.header('allow', 'POST');
      throw new ApiError(405, 'method_not_allowed', 'use POST /create');
    },
  });

  app.get('/status', { onRequest: requireSecret }, async () => {
    const now = Date.now();
    const [list, pending, totalCreated] = await Promise.all([sessions.list(), tokens.pendingCount(), sessions.createdTotal()]);
    const inState = (state: string) => list.filter((s) => s.state === state).length;
    const ctx = { servedAt: deps.servedAt, now };
    return {
      replica: sessions.replicaId,
      total_sessions: list.length,
      pending_tokens: pending,
      sessions_created: inState('created'),
      sessions_active: inState('active'),
      sessions_disconnected: inState('disconnected'),
      sessions_total_created: totalCreated,
      sessions: list.map((s) => statusEntry(s, ctx)),
    };
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', { onRequest: requireSecret }, async (request) => {
    const ended = TOKEN_PATTERN.test(request.params.id) && (await sessions.end(request.params.id, 'ended by the backend'));
    if (!ended) throw new ApiError(404, 'session_not_found', 'no such session');
    log.child('CONTROL', { session: request.params.id }).info('session ended by the backend');
    return { status: 'success' };
  });

  const parseLinkParams = linkParamsParser({ maxTokenTtlSeconds: config.token_ttl });
  // Support staff watching or helping: one more browser of a live session, within its viewer limit.
  app.post<{ Params: { id: string } }>('/sessions/:id/links', { onRequest: requireSecret }, async (request) => {
    const params = parseLinkParams(request.body === undefined && !request.isMultipart() ? {} : await readCreateBody(request));
    if (params instanceof ApiError) throw params;
    const { id } = request.params;
    const session = TOKEN_PATTERN.test(id) ? await sessions.get(id) : null;
    if (!session) throw new ApiError(404, 'session_not_found', 'no such session');
    if (session.grant.viewOnly && !params.viewOnly) throw invalidParams({ view_only: 'the session is view-only: its links can only be view-only' });
    try {
      const { token, expiresAt } = await tokens.create({ join: { sessionId: id, viewOnly: params.viewOnly } }, (params.ttlSeconds ?? config.token_ttl) * 1000);
      metrics.tokensCreated.inc();
      log.child('CONTROL', { session: id }).info('shared link created', { token_prefix: tokenPrefix(token), view_only: params.viewOnly });
      return { status: 'success', token, url: `${deps.publicOrigin()}/vnc/${token}`, expires_at: new Date(expiresAt).toISOString(), session_id: id, view_only: params.viewOnly };
    } catch (error) {
      if (error instanceof TokenLimitError) throw new ApiError(503, 'too_many_tokens', error.message);
      throw error;
    }
  });

  app.delete<{ Params: { token: string } }>('/tokens/:token', { onRequest: requireSecret }, async (request) => {
    const revoked = TOKEN_PATTERN.test(request.params.token) && (await tokens.revoke(request.params.token));
    if (!revoked) throw new ApiError(404, 'token_not_found', 'no such pending token');
    log.info('token revoked', { token_prefix: tokenPrefix(request.params.token) });
    deps.events?.tokenRevoked(request.params.token);
    return { status: 'success' };
  });

  registerRecordingRoutes(app, { recordings: deps.recordings, playerTokens: deps.playerTokens, linkTtlSeconds: config.token_ttl, publicOrigin: deps.publicOrigin, log: deps.log }, requireSecret);

  // Load balancers take a replica whose Redis is away out of rotation until it is back.
  app.get('/healthz', async (_request, reply) => {
    const problem = deps.unavailable();
    if (problem !== null) return reply.code(503).send({ status: 'unavailable', reason: problem });
    return { status: 'ok' };
  });

  // Counts and timings only, no identifiers: scrapable without the control secret.
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.get('/', async () => {
    throw UNAUTHORIZED;
  });
}
