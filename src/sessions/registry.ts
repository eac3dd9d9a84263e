import type { ConsoleGrant, ConsoleKind, GuestType } from './grant.js';

export type SessionState = 'created' | 'active' | 'disconnected' | 'ended';

/** A connected browser; the registry closes it when the session ends. */
export interface Viewer {
  close(code: number, reason: string): void;
}

export interface Session {
  readonly id: string;
  /** Short token prefix, for operators matching a session to the link they handed out. */
  readonly tokenPrefix: string;
  grant: ConsoleGrant;
  state: SessionState;
  readonly createdAt: number;
  readonly expiresAt: number;
  connectedAt?: number;
  /** The last keyboard, pointer or clipboard input of any viewer (creation until then). */
  lastInputAt: number;
  endedAt?: number;
  endReason?: string;
  readonly viewers: Set<Viewer>;
  bytesToBrowser: number;
  bytesToUpstream: number;
  /** Code of the last Proxmox failure a viewer met (e.g. `xterm_requires_password`), for `/status`. */
  lastError?: string;
}

export interface SessionSummary {
  id: string;
  tokenPrefix: string;
  node?: string;
  vmid: number;
  type?: GuestType;
  console: ConsoleKind;
  state: SessionState;
  createdAt: number;
  connectedAt?: number;
  viewers: number;
  bytesToBrowser: number;
  bytesToUpstream: number;
  lastError?: string;
}

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

/**
 * Browser sessions created by redemption. Only the hash of a session's cookie secret is kept, so
 * a dump of the registry opens nothing. Viewers are per process: a websocket lives where it landed.
 */
export interface SessionRegistry {
  create(grant: ConsoleGrant, tokenPrefix: string): Promise<{ session: Session; cookieSecret: string }>;
  get(id: string): Promise<Session | null>;
  /** The session when `cookieSecret` is the one set at redemption and the session has not ended. */
  authenticate(id: string, cookieSecret: string | undefined): Promise<Session | null>;
  /** Throws ViewerLimitError when the session has its maximum of viewers. */
  addViewer(session: Session, viewer: Viewer): void;
  removeViewer(session: Session, viewer: Viewer): void;
  end(id: string, reason: string): Promise<boolean>;
  /** Every session not ended (to keep their Proxmox tickets fresh). */
  live(): Promise<Session[]>;
  list(): Promise<SessionSummary[]>;
  counts(): { created: number; active: number; disconnected: number; totalCreated: number };
  close(): Promise<void>;
}
