import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { RETRY_AFTER_SECONDS, StoreUnavailableError } from '../redis/errors.js';
import { CONTROL_BODY_LIMIT } from './create-body.js';
import { ApiError, frameworkError } from './errors.js';
import { registerControlRoutes, type ControlDeps } from './routes.js';

export interface ControlApiOptions extends ControlDeps {
  /** True once the gateway drains: a link made now would die with this process. */
  draining(): boolean;
}

/**
 * The backend-facing API: its body parsers, its authentication (each route's onRequest hook,
 * before any body is read) and answers in its one error shape, all scoped to its routes.
 */
export const controlApi: FastifyPluginAsync<ControlApiOptions> = async (app, options) => {
  const log = options.log.child('CONTROL');
  // Multipart, urlencoded and JSON bodies; anything else is a 415.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyFormbody, { bodyLimit: CONTROL_BODY_LIMIT });
  await app.register(fastifyMultipart, {
    limits: { fieldSize: CONTROL_BODY_LIMIT, fields: 32, files: 0, parts: 32, headerPairs: 64 },
  });

  // preHandler: it runs once the body is in, so a request begun before the drain is caught too.
  app.addHook('preHandler', async (request, reply) => {
    if (!options.draining() || request.routeOptions.url !== '/create' || request.method !== 'POST') return;
    return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'error', error: 'shutting_down', message: 'this gateway is shutting down; try again (another replica, or this one once restarted)' });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof StoreUnavailableError) {
      log.warn('request refused: the shared store is unreachable', { url: request.routeOptions.url, error });
      return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'error', error: 'store_unavailable', message: 'the console service is briefly unavailable; try again in a few seconds' });
    }
    const apiError = error instanceof ApiError ? error : frameworkError(error);
    if (apiError) return reply.code(apiError.statusCode).send(apiError.body());
    log.error('request failed', { method: request.method, url: request.routeOptions.url, error });
    return reply.code(500).send({ status: 'error', error: 'internal_error', message: 'internal error' });
  });

  registerControlRoutes(app, options);
};
