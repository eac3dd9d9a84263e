import { repeatDetached } from '../detached.js';
import type { Logger } from '../log.js';
import type { LocalViewers } from './local-viewers.js';
import type { SessionStore } from './store.js';

/** How often the sessions with a viewer here are looked up; an end heard is acted on at once. */
export const LOST_END_CHECK_MS = 5_000;

/**
 * An end is announced once (Redis pub/sub): one that went out while this replica's subscription
 * was down never arrives. So the sessions this process serves are looked up now and then, and
 * the viewers of one that is gone are closed as its end would have closed them.
 */
export function scheduleLostEndCheck(sessions: SessionStore, viewers: LocalViewers, log: Logger, intervalMs = LOST_END_CHECK_MS): () => void {
  return repeatDetached(log, 'checking for sessions ended unheard', intervalMs, async () => {
    for (const id of viewers.sessionIds()) {
      if ((await sessions.get(id)) !== null) continue;
      log.child('SESSION', { session: id }).info('session ended while this replica was not listening: closing its viewers');
      viewers.closeSession(id);
    }
  });
}
