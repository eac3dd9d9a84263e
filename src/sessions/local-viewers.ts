import { EventEmitter } from 'node:events';

/** A connected browser, held by this process. */
export interface Viewer {
  close(code: number, reason: string): void;
}

/** WebSocket close code the console page reads as "this session is over, do not reconnect". */
export const SESSION_ENDED_CLOSE_CODE = 4000;
/** This replica is stopping, the session is not: the page reconnects (RFC 6455 "service restart"). */
export const GATEWAY_RESTARTING_CLOSE_CODE = 1012;

/**
 * The viewers whose sockets this process holds, by session. When a session ends, wherever that
 * was decided, its viewers here are closed; 'empty' fires when the last viewer of the process
 * leaves (draining waits for it).
 */
export class LocalViewers {
  private readonly bySession = new Map<string, Set<Viewer>>();
  private total = 0;
  private readonly events = new EventEmitter();

  get count(): number {
    return this.total;
  }

  /** The sessions with a viewer here. */
  sessionIds(): string[] {
    return [...this.bySession.keys()];
  }

  add(sessionId: string, viewer: Viewer): void {
    let set = this.bySession.get(sessionId);
    if (!set) this.bySession.set(sessionId, (set = new Set()));
    if (set.has(viewer)) return;
    set.add(viewer);
    this.total++;
  }

  remove(sessionId: string, viewer: Viewer): void {
    const set = this.bySession.get(sessionId);
    if (!set?.delete(viewer)) return;
    if (set.size === 0) this.bySession.delete(sessionId);
    this.total--;
    if (this.total === 0) this.events.emit('empty');
  }

  /** Closes the session's viewers here (it ended). */
  closeSession(sessionId: string, code = SESSION_ENDED_CLOSE_CODE, reason = 'session ended'): void {
    const set = this.bySession.get(sessionId);
    if (!set) return;
    for (const viewer of [...set]) {
      viewer.close(code, reason);
      this.remove(sessionId, viewer);
    }
  }

  closeAll(code: number, reason: string): void {
    for (const id of [...this.bySession.keys()]) this.closeSession(id, code, reason);
  }

  /** Resolves once no viewer is held, or after `ms`. */
  async whenEmpty(ms: number): Promise<void> {
    if (this.total === 0 || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off('empty', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.on('empty', done);
    });
  }
}
