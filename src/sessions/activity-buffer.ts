import type { SessionActivity, SessionStore } from './store.js';

/**
 * Relayed bytes and input times, added up in this process and written to the store in batches:
 * a keystroke or a frame must not cost a store round trip.
 */
export class SessionActivityBuffer {
  private pending = new Map<string, SessionActivity>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: SessionStore,
    private readonly onError: (error: unknown) => void,
    flushEveryMs = 1000,
    /** When input happened, for callers that do not say. */
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  private entry(id: string): SessionActivity {
    let activity = this.pending.get(id);
    if (!activity) this.pending.set(id, (activity = { bytesToBrowser: 0, bytesToUpstream: 0 }));
    return activity;
  }

  input(id: string, at = this.now()): void {
    this.entry(id).lastInputAt = at;
  }

  bytes(id: string, toBrowser: number, toUpstream: number): void {
    const activity = this.entry(id);
    activity.bytesToBrowser += toBrowser;
    activity.bytesToUpstream += toUpstream;
  }

  /** Writes what was gathered; one session's failure does not hold back the others. */
  async flush(only?: string): Promise<void> {
    const batch = only === undefined ? this.pending : new Map([...this.pending].filter(([id]) => id === only));
    if (only === undefined) this.pending = new Map();
    else this.pending.delete(only);
    await Promise.all(
      [...batch].map(([id, activity]) => this.store.recordActivity(id, activity).catch(this.onError)),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
