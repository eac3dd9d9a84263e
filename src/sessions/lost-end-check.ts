import { repeatDetached } from '../detached.js';
import type { Logger } from '../log.js';
import type { SessionStore } from './store.js';

/** How often the sessions with a viewer here are looked up; an end heard is acted on at once. */
export const LOST_END_CHECK_MS = 5_000;

/**
 * An end is announced once (Redis pub/sub): one that went out while this replica's subscription
 * was down never arrives. So the sessions this process holds something for (viewers, a text
 * console's terminal in its grace) are looked up now and then, and one that is gone is ended here
 * as its announced end would have been.
 */
export function scheduleLostEndCheck(sessions: SessionStore, heldHere: () => Iterable<string>, endHere: (id: string) => void, log: Logger, intervalMs = LOST_END_CHECK_MS): () => void {
  return repeatDetached(log, 'checking for sessions ended unheard', intervalMs, async () => {
    for (const id of new Set(heldHere())) {
      if ((await sessions.get(id)) !== null) continue;
      log.child('SESSION', { session: id }).info('session ended while this replica was not listening: ending it here');
      endHere(id);
    }
  });
}
