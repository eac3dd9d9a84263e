import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenPrefix, type Logger } from '../log.js';
import type { PlayerGrant } from '../recordings/player-access.js';
import type { RecordingStore } from '../recordings/store.js';
import { TokenLimitError, type TokenStore } from '../tokens/store.js';
import { ApiError } from './errors.js';

export interface RecordingRouteDeps {
  /** Absent without `recording_dir`. */
  recordings?: RecordingStore;
  playerTokens: TokenStore<PlayerGrant>;
  /** Seconds a player link stays valid (`token_ttl`). */
  linkTtlSeconds: number;
  publicOrigin(): string;
  log: Logger;
}

const NOT_FOUND = new ApiError(404, 'recording_not_found', 'no such recording');

/**
 * GET /recordings, GET and DELETE /recordings/<id>, POST /recordings/<id>/link: behind the
 * control secret like every other route of the backend's. Ids are matched against their one
 * pattern before anything is asked of the disk: no other name can reach a file.
 */
export function registerRecordingRoutes(
  app: FastifyInstance,
  deps: RecordingRouteDeps,
  requireSecret: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
): void {
  const log = deps.log.child('CONTROL');
  const store = (): RecordingStore => {
    if (!deps.recordings) throw new ApiError(404, 'recording_disabled', 'recording is not enabled on this gateway (recording_dir is not set)');
    return deps.recordings;
  };

  app.get('/recordings', { onRequest: requireSecret }, async () => ({ status: 'success', recordings: await store().list() }));

  app.get<{ Params: { id: string } }>('/recordings/:id', { onRequest: requireSecret }, async (request, reply) => {
    const found = await store().read(request.params.id);
    if (!found) throw NOT_FOUND;
    return reply.type(found.contentType).header('content-disposition', `attachment; filename="${found.fileName}"`).send(found.stream);
  });

  app.delete<{ Params: { id: string } }>('/recordings/:id', { onRequest: requireSecret }, async (request) => {
    if (!(await store().delete(request.params.id))) throw NOT_FOUND;
    log.info('recording deleted', { recording: request.params.id });
    return { status: 'success' };
  });

  app.post<{ Params: { id: string } }>('/recordings/:id/link', { onRequest: requireSecret }, async (request) => {
    const info = await store().info(request.params.id);
    if (!info) throw NOT_FOUND;
    try {
      const { token, expiresAt } = await deps.playerTokens.create({ recording: info.id }, deps.linkTtlSeconds * 1000);
      log.info('player link created', { recording: info.id, token_prefix: tokenPrefix(token) });
      return { status: 'success', url: `${deps.publicOrigin()}/play/${token}`, expires_at: new Date(expiresAt).toISOString() };
    } catch (error) {
      if (error instanceof TokenLimitError) throw new ApiError(503, 'too_many_tokens', error.message);
      throw error;
    }
  });
}
