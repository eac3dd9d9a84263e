import type { ConsoleGrant } from './grant.js';
import type { SessionRecord, SessionSummary, ViewerAccess } from './record.js';

export class SessionLimitError extends Error {
  constructor(limit: number) {
    super(`too many sessions (limit ${limit})`);
  }
}

export class ViewerLimitError extends Error {
  constructor(limit: number) {
    super(`this console already has ${limit} viewer(s)`);
  }
}

export interface SessionEnded {
  id: string;
  reason: string;
}

/** A session as one browser's cookie opens it, with what that browser may do. */
export type AuthenticatedSession = SessionRecord & { readonly access: ViewerAccess };

export interface SessionActivity {
  /** The latest input seen, when there was any. */
  lastInputAt?: number;
  bytesToBrowser: number;
  bytesToUpstream: number;
}

/**
 * Where sessions live: one process's memory, or Redis shared by every replica. Each operation is
 * one atomic step in the store, so replicas never overwrite each other's changes; only the hash
 * of a session's cookie secret is kept, so a dump of the store opens no console. Viewers' sockets
 * stay in the process that holds them (LocalViewers); the store only counts them per replica.
 */
export interface SessionStore {
  /** This process's name among the replicas sharing the store. */
  readonly replicaId: string;
  /** Throws SessionLimitError when the store holds max_sessions already. */
  create(grant: ConsoleGrant, tokenPrefix: string): Promise<{ record: SessionRecord; cookieSecret: string }>;
  get(id: string): Promise<SessionRecord | null>;
  /**
   * The session when `cookieSecret` is one set at its redemption or at a shared link's, and the
   * session has not ended; `access` says what that browser may do.
   */
  authenticate(id: string, cookieSecret: string | undefined): Promise<AuthenticatedSession | null>;
  /**
   * A further browser for a live session (a shared link redeemed): its own cookie secret, of which
   * only the hash is kept, with the session; null when the session is gone. A view-only session
   * gives only view-only access.
   */
  addBrowser(id: string, access: { link: string; viewOnly: boolean }): Promise<string | null>;
  /**
   * A viewer of this replica joins, counted under `access` (the session's own link when absent):
   * throws ViewerLimitError past the limit; null when the session is gone.
   */
  join(id: string, access?: ViewerAccess): Promise<SessionRecord | null>;
  /** A viewer of this replica leaves; `access` as it joined with. */
  leave(id: string, access?: ViewerAccess): Promise<void>;
  /** Input and relayed bytes, in batches (SessionActivityBuffer). */
  recordActivity(id: string, activity: SessionActivity): Promise<void>;
  /** Replaces the grant if it is still at `version`; false when another change came first. */
  updateGrant(id: string, version: number, grant: ConsoleGrant): Promise<boolean>;
  setLastError(id: string, code: string): Promise<void>;
  /** True for the one caller that ended it; every replica hears of it through onEnded. */
  end(id: string, reason: string): Promise<boolean>;
  /** Ends the sessions whose lifetime, reconnect grace or idle time ran out; how many. */
  endDue(): Promise<number>;
  /** Every session not ended, with the state as the whole cluster sees it. */
  list(): Promise<SessionSummary[]>;
  /** Sessions not ended, as records (ticket renewal reads their grants). */
  live(): Promise<SessionRecord[]>;
  /** Sessions created since the store began (the original's `sessions_created`, cluster-wide). */
  createdTotal(): Promise<number>;
  /** Called for every ended session, whichever replica ended it. */
  onEnded(listener: (ended: SessionEnded) => void): void;
  close(): Promise<void>;
}
