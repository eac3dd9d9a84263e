import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConsoleGrant } from './grant.js';
import {
  SessionLimitError,
  ViewerLimitError,
  type Session,
  type SessionRegistry,
  type SessionSummary,
  type Viewer,
} from './registry.js';

export interface SessionLimits {
  maxSessions: number;
  maxViewersPerSession: number;
  /** How long a session without viewers (never connected, or all left) waits for one. */
  reconnectGraceMs: number;
  /** A session without input for this long ends (0: never). */
  idleTimeoutMs: number;
}

export interface SessionEvents {
  onEnded?(session: Session): void;
}

/** WebSocket close code the console page reads as "this session is over, do not reconnect". */
export const SESSION_ENDED_CLOSE_CODE = 4000;

interface Entry {
  session: Session;
  cookieHash: Buffer;
  graceTimer?: NodeJS.Timeout;
  lifetimeTimer: NodeJS.Timeout;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export class MemorySessionRegistry implements SessionRegistry {
  private readonly entries = new Map<string, Entry>();
  private totalCreated = 0;
  private readonly idleSweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: SessionLimits,
    private readonly events: SessionEvents = {},
  ) {
    if (limits.idleTimeoutMs > 0) {
      // One sweep for all sessions; input only stamps a time, so typing costs nothing more.
      this.idleSweeper = setInterval(() => this.endIdle(), Math.min(30_000, Math.max(250, limits.idleTimeoutMs / 4)));
      this.idleSweeper.unref();
    }
  }

  async create(grant: ConsoleGrant, tokenPrefix: string): Promise<{ session: Session; cookieSecret: string }> {
    if (this.entries.size >= this.limits.maxSessions) throw new SessionLimitError(this.limits.maxSessions);
    const id = randomBytes(16).toString('base64url');
    const cookieSecret = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: Session = {
      id,
      tokenPrefix,
      grant,
      state: 'created',
      createdAt: now,
      lastInputAt: now,
      expiresAt: now + grant.maxDurationMs,
      viewers: new Set(),
      bytesToBrowser: 0,
      bytesToUpstream: 0,
    };
    const lifetimeTimer = setTimeout(() => void this.end(id, 'session lifetime reached'), grant.maxDurationMs);
    lifetimeTimer.unref();
    const entry: Entry = { session, cookieHash: hashSecret(cookieSecret), lifetimeTimer };
    this.entries.set(id, entry);
    this.totalCreated++;
    this.startGrace(entry);
    return { session, cookieSecret };
  }

  async get(id: string): Promise<Session | null> {
    return this.entries.get(id)?.session ?? null;
  }

  async authenticate(id: string, cookieSecret: string | undefined): Promise<Session | null> {
    const entry = this.entries.get(id);
    if (!entry || cookieSecret === undefined) return null;
    return timingSafeEqual(entry.cookieHash, hashSecret(cookieSecret)) ? entry.session : null;
  }

  addViewer(session: Session, viewer: Viewer): void {
    const entry = this.entries.get(session.id);
    if (!entry) throw new ViewerLimitError(0);
    if (session.viewers.size >= this.limits.maxViewersPerSession) {
      throw new ViewerLimitError(this.limits.maxViewersPerSession);
    }
    session.viewers.add(viewer);
    session.state = 'active';
    session.connectedAt ??= Date.now();
    clearTimeout(entry.graceTimer);
    entry.graceTimer = undefined;
  }

  removeViewer(session: Session, viewer: Viewer): void {
    if (!session.viewers.delete(viewer) || session.viewers.size > 0) return;
    const entry = this.entries.get(session.id);
    if (!entry) return;
    session.state = 'disconnected';
    this.startGrace(entry);
  }

  async end(id: string, reason: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    clearTimeout(entry.graceTimer);
    clearTimeout(entry.lifetimeTimer);
    const { session } = entry;
    session.state = 'ended';
    session.endedAt = Date.now();
    session.endReason = reason;
    for (const viewer of session.viewers) viewer.close(SESSION_ENDED_CLOSE_CODE, 'session ended');
    session.viewers.clear();
    this.events.onEnded?.(session);
    return true;
  }

  async live(): Promise<Session[]> {
    return [...this.entries.values()].map(({ session }) => session);
  }

  async list(): Promise<SessionSummary[]> {
    return (await this.live()).map((session) => ({
      id: session.id,
      tokenPrefix: session.tokenPrefix,
      node: session.grant.node,
      vmid: session.grant.vmid,
      type: session.grant.type,
      console: session.grant.console,
      state: session.state,
      createdAt: session.createdAt,
      connectedAt: session.connectedAt,
      viewers: session.viewers.size,
      bytesToBrowser: session.bytesToBrowser,
      bytesToUpstream: session.bytesToUpstream,
      lastError: session.lastError,
    }));
  }

  counts(): { created: number; active: number; disconnected: number; totalCreated: number } {
    const counts = { created: 0, active: 0, disconnected: 0, totalCreated: this.totalCreated };
    for (const { session } of this.entries.values()) {
      if (session.state !== 'ended') counts[session.state]++;
    }
    return counts;
  }

  async close(): Promise<void> {
    clearInterval(this.idleSweeper);
    for (const id of [...this.entries.keys()]) await this.end(id, 'gateway stopping');
  }

  private endIdle(): void {
    const cutoff = Date.now() - this.limits.idleTimeoutMs;
    for (const { session } of [...this.entries.values()]) {
      if (session.lastInputAt < cutoff) void this.end(session.id, 'no input within idle_timeout');
    }
  }

  private startGrace(entry: Entry): void {
    clearTimeout(entry.graceTimer);
    entry.graceTimer = setTimeout(
      () => void this.end(entry.session.id, 'no viewer reconnected in time'),
      this.limits.reconnectGraceMs,
    );
    entry.graceTimer.unref();
  }
}
