import { EventEmitter } from 'node:events';
import { cookieMatches, hashCookieSecret, newCookieSecret, newSessionId } from './cookie-secret.js';
import type { ConsoleGrant } from './grant.js';
import { checkDue, type SessionLimits } from './limits.js';
import { accessKey, liveViewers, ownerAccess, sharedAccess, summarize, type SessionRecord, type SessionSummary, type ViewerAccess } from './record.js';
import { SessionLimitError, ViewerLimitError, type AuthenticatedSession, type SessionActivity, type SessionEnded, type SessionStore } from './store.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  record: Mutable<SessionRecord> & { viewers: Record<string, number>; viewerAccess: Record<string, Record<string, number>> };
  cookieHash: string;
  /** Shared links' browsers, by the hash of their cookie secrets. */
  browsers: Map<string, { link: string; viewOnly: boolean }>;
}

/** Sessions of one gateway process: the default, when no redis_url is set. */
export class MemorySessionStore implements SessionStore {
  readonly replicaId = 'local';
  private readonly entries = new Map<string, Entry>();
  private readonly events = new EventEmitter();
  private created = 0;

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async create(grant: ConsoleGrant, tokenPrefix: string): Promise<{ record: SessionRecord; cookieSecret: string }> {
    if (this.entries.size >= this.limits.maxSessions) throw new SessionLimitError(this.limits.maxSessions);
    const now = this.now();
    const cookie = newCookieSecret();
    const record: Entry['record'] = {
      id: newSessionId(),
      tokenPrefix,
      grant,
      grantVersion: 1,
      createdAt: now,
      expiresAt: now + grant.maxDurationMs,
      lastInputAt: now,
      unwatchedSince: now,
      viewers: {},
      viewerAccess: {},
      bytesToBrowser: 0,
      bytesToUpstream: 0,
    };
    this.entries.set(record.id, { record, cookieHash: cookie.hash, browsers: new Map() });
    this.created++;
    return { record: snapshot(record), cookieSecret: cookie.secret };
  }

  async get(id: string): Promise<SessionRecord | null> {
    const entry = this.entries.get(id);
    return entry ? snapshot(entry.record) : null;
  }

  async authenticate(id: string, cookieSecret: string | undefined): Promise<AuthenticatedSession | null> {
    const entry = this.entries.get(id);
    if (!entry || cookieSecret === undefined) return null;
    if (cookieMatches(entry.cookieHash, cookieSecret)) return { ...snapshot(entry.record), access: ownerAccess(entry.record) };
    const kept = entry.browsers.get(hashCookieSecret(cookieSecret));
    return kept ? { ...snapshot(entry.record), access: sharedAccess(entry.record, kept) } : null;
  }

  async addBrowser(id: string, access: { link: string; viewOnly: boolean }): Promise<string | null> {
    const entry = this.entries.get(id);
    if (!entry) return null;
    const cookie = newCookieSecret();
    entry.browsers.set(cookie.hash, { link: access.link, viewOnly: access.viewOnly || entry.record.grant.viewOnly });
    return cookie.secret;
  }

  async join(id: string, access?: ViewerAccess): Promise<SessionRecord | null> {
    const record = this.entries.get(id)?.record;
    if (!record) return null;
    if (liveViewers(record) >= this.limits.maxViewersPerSession) throw new ViewerLimitError(this.limits.maxViewersPerSession);
    record.viewers[this.replicaId] = (record.viewers[this.replicaId] ?? 0) + 1;
    const byAccess = (record.viewerAccess[this.replicaId] ??= {});
    const key = accessKey(access ?? ownerAccess(record));
    byAccess[key] = (byAccess[key] ?? 0) + 1;
    record.connectedAt ??= this.now();
    delete record.unwatchedSince;
    return snapshot(record);
  }

  async leave(id: string, access?: ViewerAccess): Promise<void> {
    const record = this.entries.get(id)?.record;
    const count = record?.viewers[this.replicaId];
    if (!record || count === undefined) return;
    if (count > 1) record.viewers[this.replicaId] = count - 1;
    else delete record.viewers[this.replicaId];
    const byAccess = record.viewerAccess[this.replicaId] ?? {};
    const key = accessKey(access ?? ownerAccess(record));
    if ((byAccess[key] ?? 0) > 1) byAccess[key]! -= 1;
    else delete byAccess[key];
    if (liveViewers(record) === 0) record.unwatchedSince = this.now();
  }

  async recordActivity(id: string, activity: SessionActivity): Promise<void> {
    const record = this.entries.get(id)?.record;
    if (!record) return;
    record.bytesToBrowser += activity.bytesToBrowser;
    record.bytesToUpstream += activity.bytesToUpstream;
    if (activity.lastInputAt !== undefined) record.lastInputAt = Math.max(record.lastInputAt, activity.lastInputAt);
  }

  async updateGrant(id: string, version: number, grant: ConsoleGrant): Promise<boolean> {
    const record = this.entries.get(id)?.record;
    if (!record || record.grantVersion !== version) return false;
    record.grant = grant;
    record.grantVersion++;
    return true;
  }

  async setLastError(id: string, code: string): Promise<void> {
    const record = this.entries.get(id)?.record;
    if (record) record.lastError = code;
  }

  async end(id: string, reason: string): Promise<boolean> {
    if (!this.entries.delete(id)) return false;
    this.events.emit('ended', { id, reason } satisfies SessionEnded);
    return true;
  }

  async endDue(): Promise<number> {
    const now = this.now();
    let ended = 0;
    for (const { record } of [...this.entries.values()]) {
      const due = checkDue(record, now, this.limits, () => true);
      if (due.kind === 'end' && (await this.end(record.id, due.reason))) ended++;
    }
    return ended;
  }

  async list(): Promise<SessionSummary[]> {
    return [...this.entries.values()].map(({ record }) => summarize(record));
  }

  async live(): Promise<SessionRecord[]> {
    return [...this.entries.values()].map(({ record }) => snapshot(record));
  }

  async createdTotal(): Promise<number> {
    return this.created;
  }

  onEnded(listener: (ended: SessionEnded) => void): void {
    this.events.on('ended', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}

/** Callers get a copy: a record changes only through the store's operations, as with Redis. */
function snapshot(record: SessionRecord): SessionRecord {
  const viewerAccess = Object.fromEntries(Object.entries(record.viewerAccess ?? {}).map(([replica, byAccess]) => [replica, { ...byAccess }]));
  return { ...record, viewers: { ...record.viewers }, viewerAccess };
}
