import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { storeCall } from '../redis/errors.js';
import type { SecretBox } from '../redis/secret-box.js';
import { cookieMatches, hashCookieSecret, newCookieSecret, newSessionId } from './cookie-secret.js';
import type { ConsoleGrant } from './grant.js';
import { checkDue, type SessionLimits } from './limits.js';
import { accessKey, ownerAccess, sharedAccess, summarize, type SessionRecord, type SessionSummary, type ViewerAccess } from './record.js';
import { SessionLimitError, ViewerLimitError, type AuthenticatedSession, type SessionActivity, type SessionEnded, type SessionStore } from './store.js';

/** A replica that has not renewed its lease for this long is taken for dead: its viewers no longer count. */
const REPLICA_LEASE_MS = 10_000;
const HEARTBEAT_MS = 2_000;
/** A session's hash outlives its lifetime by this much, so the sweep, not Redis, ends it. */
const KEY_MARGIN_MS = 60_000;
/** The creation counter and the index live as long as the longest session could, at least. */
const INDEX_TTL_MS = 8 * 24 * 3600 * 1000;
const SWEEP_BATCH = 500;

// Each script touches the keys of one hash tag only (a session's hash, or the index and counter):
// Redis Cluster runs a script on the node of its keys, so no script may span two hash tags.
const SCRIPTS = {
  /** On the index and the creation counter, both under the {sessions} hash tag. */
  reserveSession: {
    numberOfKeys: 2,
    lua: `
      if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
      redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
      redis.call('PEXPIRE', KEYS[1], ARGV[4])
      redis.call('INCR', KEYS[2])
      redis.call('PEXPIRE', KEYS[2], ARGV[4])
      return 1`,
  },
  /** ARGV: replica, limit, now, the viewer's access field (a:<replica>|<accessKey>), live replicas. */
  joinViewer: {
    numberOfKeys: 1,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
      local total = 0
      for i = 5, #ARGV do total = total + tonumber(redis.call('HGET', KEYS[1], 'v:' .. ARGV[i]) or '0') end
      if total >= tonumber(ARGV[2]) then return -2 end
      redis.call('HINCRBY', KEYS[1], 'v:' .. ARGV[1], 1)
      redis.call('HINCRBY', KEYS[1], ARGV[4], 1)
      redis.call('HSETNX', KEYS[1], 'connectedAt', ARGV[3])
      redis.call('HDEL', KEYS[1], 'unwatchedSince')
      redis.call('HINCRBY', KEYS[1], 'rev', 1)
      return total + 1`,
  },
  /** ARGV: replica, now, the viewer's access field, live replicas. */
  leaveViewer: {
    numberOfKeys: 1,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
      for _, field in ipairs({'v:' .. ARGV[1], ARGV[3]}) do
        if tonumber(redis.call('HGET', KEYS[1], field) or '0') <= 1 then redis.call('HDEL', KEYS[1], field)
        else redis.call('HINCRBY', KEYS[1], field, -1) end
      end
      local total = 0
      for i = 4, #ARGV do total = total + tonumber(redis.call('HGET', KEYS[1], 'v:' .. ARGV[i]) or '0') end
      if total <= 0 then redis.call('HSET', KEYS[1], 'unwatchedSince', ARGV[2]) end
      redis.call('HINCRBY', KEYS[1], 'rev', 1)
      return 1`,
  },
  recordActivity: {
    numberOfKeys: 1,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
      redis.call('HINCRBY', KEYS[1], 'toBrowser', ARGV[1])
      redis.call('HINCRBY', KEYS[1], 'toUpstream', ARGV[2])
      if ARGV[3] ~= '' and tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[1], 'lastInputAt') or '0') then
        redis.call('HSET', KEYS[1], 'lastInputAt', ARGV[3])
        redis.call('HINCRBY', KEYS[1], 'rev', 1)
      end
      return 1`,
  },
  compareAndSetGrant: {
    numberOfKeys: 1,
    lua: `
      if redis.call('HGET', KEYS[1], 'grantVersion') ~= ARGV[1] then return 0 end
      redis.call('HSET', KEYS[1], 'grant', ARGV[2])
      redis.call('HINCRBY', KEYS[1], 'grantVersion', 1)
      return 1`,
  },
  setIfExists: {
    numberOfKeys: 1,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
      redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
      return 1`,
  },
  /** The sweep's verdict holds only if nobody joined, left or typed since it read the record. */
  deleteIfUnchanged: {
    numberOfKeys: 1,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 or (redis.call('HGET', KEYS[1], 'rev') or '0') ~= ARGV[1] then return 0 end
      redis.call('DEL', KEYS[1])
      return 1`,
  },
  markUnwatched: {
    numberOfKeys: 1,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 or (redis.call('HGET', KEYS[1], 'rev') or '0') ~= ARGV[1] then return 0 end
      redis.call('HSETNX', KEYS[1], 'unwatchedSince', ARGV[2])
      redis.call('HINCRBY', KEYS[1], 'rev', 1)
      return 1`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptClient = { [K in ScriptName]: (...keysThenArgs: (string | number)[]) => Promise<number> };

export interface RedisSessionStoreOptions {
  redis: Redis | Cluster;
  /** A connection of its own for pub/sub (a subscribed connection runs no other command). */
  subscriber: Redis | Cluster;
  box: SecretBox;
  prefix: string;
  limits: SessionLimits;
  now?: () => number;
  /** Told when a record could not be read (e.g. sealed with an unknown key). */
  onUnreadable?(id: string, error: Error): void;
}

/**
 * Sessions in Redis, shared by every replica. A session is one hash (its own hash tag, so Redis
 * Cluster spreads sessions over its nodes); an index sorted set holds each session's next check
 * time, for max_sessions and the sweep. The grant (with its Proxmox ticket, API-token secret or
 * password) is sealed with the SecretBox under the hash's name; the cookie secret is only hashed.
 * Replicas renew a lease every few seconds: viewers counted for a replica whose lease lapsed (it
 * was killed) no longer hold their session open, so the reconnect grace starts for it.
 */
export class RedisSessionStore implements SessionStore {
  readonly replicaId = randomBytes(6).toString('hex');
  private readonly redis: Redis | Cluster;
  private readonly scripts: ScriptClient;
  private readonly events = new EventEmitter();
  private readonly now: () => number;
  private readonly indexKey: string;
  private readonly replicasKey: string;
  private readonly createdKey: string;
  private readonly channel: string;
  private liveReplicas = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Settles once this replica hears ends announced by others (or the first try failed). */
  readonly subscribed: Promise<void>;
  /** Ends this replica announced itself; their echo from the channel is not told twice. */
  private readonly endedHere = new Set<string>();

  constructor(private readonly options: RedisSessionStoreOptions) {
    this.redis = options.redis;
    this.now = options.now ?? Date.now;
    const p = options.prefix;
    this.indexKey = `${p}{sessions}:index`;
    this.createdKey = `${p}{sessions}:created`;
    this.replicasKey = `${p}{replicas}`;
    this.channel = `${p}session-ended`;
    for (const [name, script] of Object.entries(SCRIPTS)) {
      this.redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.scripts = this.redis as unknown as ScriptClient;
    options.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.heard(message);
    });
    this.subscribed = options.subscriber.subscribe(this.channel).then(
      () => {},
      () => {
        // ioredis subscribes again by itself once the connection is back.
      },
    );
    const renew = () => void this.renewLease().catch(() => {});
    this.heartbeat = setInterval(renew, HEARTBEAT_MS);
    this.heartbeat.unref();
    // At once when (re)connected: other replicas must count this one's viewers from its first one.
    this.redis.on('ready', renew);
    renew();
  }

  private key(id: string): string {
    return `${this.options.prefix}session:{${id}}`;
  }

  // Leases are about processes being alive, so they run on the real clock, not the injected one.
  private isLive = (replica: string): boolean => replica === this.replicaId || (this.liveReplicas.get(replica) ?? 0) > Date.now();

  private liveList(): string[] {
    return [this.replicaId, ...[...this.liveReplicas.keys()].filter((r) => r !== this.replicaId && this.isLive(r))];
  }

  private async renewLease(): Promise<void> {
    const now = Date.now();
    await storeCall('renewing the replica lease', async () => {
      await this.redis.hset(this.replicasKey, this.replicaId, String(now + REPLICA_LEASE_MS));
      await this.redis.pexpire(this.replicasKey, REPLICA_LEASE_MS * 6);
      await this.refreshReplicas();
    });
  }

  /** Which replicas are alive now: a viewer limit or a grace must not rest on a lease list seconds old. */
  private async refreshReplicas(): Promise<void> {
    const now = Date.now();
    await storeCall('reading the replica leases', async () => {
      const all = await this.redis.hgetall(this.replicasKey);
      const live = new Map<string, number>();
      const gone: string[] = [];
      for (const [replica, until] of Object.entries(all)) {
        if (Number(until) > now) live.set(replica, Number(until));
        else if (Number(until) < now - REPLICA_LEASE_MS * 6) gone.push(replica);
      }
      if (gone.length > 0) await this.redis.hdel(this.replicasKey, ...gone);
      this.liveReplicas = live;
    });
  }

  async create(grant: ConsoleGrant, tokenPrefix: string): Promise<{ record: SessionRecord; cookieSecret: string }> {
    const now = this.now();
    const id = newSessionId();
    const cookie = newCookieSecret();
    const expiresAt = now + grant.maxDurationMs;
    const firstCheck = Math.min(expiresAt, now + this.options.limits.reconnectGraceMs);
    const key = this.key(id);
    await storeCall('creating a session', async () => {
      const reserved = await this.scripts.reserveSession(this.indexKey, this.createdKey, this.options.limits.maxSessions, id, firstCheck, INDEX_TTL_MS);
      if (reserved !== 1) throw new SessionLimitError(this.options.limits.maxSessions);
      try {
        await this.redis
          .multi()
          .hset(key, {
            meta: JSON.stringify({ id, tokenPrefix, createdAt: now, expiresAt }),
            grant: this.options.box.seal(JSON.stringify(grant), key),
            grantVersion: '1',
            cookie: cookie.hash,
            lastInputAt: String(now),
            unwatchedSince: String(now),
            rev: '0',
          })
          .pexpireat(key, expiresAt + KEY_MARGIN_MS)
          .exec();
      } catch (error) {
        await this.redis.zrem(this.indexKey, id).catch(() => {});
        throw error;
      }
    });
    const record: SessionRecord = {
      id,
      tokenPrefix,
      grant,
      grantVersion: 1,
      createdAt: now,
      expiresAt,
      lastInputAt: now,
      unwatchedSince: now,
      viewers: {},
      bytesToBrowser: 0,
      bytesToUpstream: 0,
    };
    return { record, cookieSecret: cookie.secret };
  }

  /** The record and its change counter, or null when gone or unreadable. */
  private async read(id: string): Promise<{ record: SessionRecord; rev: string; cookie: string; fields: Record<string, string> } | null> {
    const key = this.key(id);
    const fields = await storeCall('reading a session', () => this.redis.hgetall(key));
    if (fields.meta === undefined || fields.grant === undefined || fields.cookie === undefined) return null;
    try {
      const meta = JSON.parse(fields.meta) as { id: string; tokenPrefix: string; createdAt: number; expiresAt: number };
      const grant = JSON.parse(this.options.box.open(fields.grant, key)) as ConsoleGrant;
      const viewers: Record<string, number> = {};
      const viewerAccess: Record<string, Record<string, number>> = {};
      for (const [field, value] of Object.entries(fields)) {
        const replica = field.startsWith('v:') ? field.slice(2) : null;
        if (replica !== null && this.isLive(replica) && Number(value) > 0) viewers[replica] = Number(value);
        const bar = field.startsWith('a:') && Number(value) > 0 ? field.indexOf('|') : -1;
        const holder = field.slice(2, bar);
        if (bar > 2 && this.isLive(holder)) (viewerAccess[holder] ??= {})[field.slice(bar + 1)] = Number(value);
      }
      const record: SessionRecord = {
        ...meta,
        grant,
        grantVersion: Number(fields.grantVersion ?? '1'),
        lastInputAt: Number(fields.lastInputAt ?? meta.createdAt),
        ...(fields.connectedAt !== undefined ? { connectedAt: Number(fields.connectedAt) } : {}),
        ...(fields.unwatchedSince !== undefined ? { unwatchedSince: Number(fields.unwatchedSince) } : {}),
        viewers,
        viewerAccess,
        bytesToBrowser: Number(fields.toBrowser ?? '0'),
        bytesToUpstream: Number(fields.toUpstream ?? '0'),
        ...(fields.lastError !== undefined ? { lastError: fields.lastError } : {}),
      };
      return { record, rev: fields.rev ?? '0', cookie: fields.cookie, fields };
    } catch (error) {
      this.options.onUnreadable?.(id, error instanceof Error ? error : new Error(String(error)));
      return null;
    }
  }

  async get(id: string): Promise<SessionRecord | null> {
    return (await this.read(id))?.record ?? null;
  }

  async authenticate(id: string, cookieSecret: string | undefined): Promise<AuthenticatedSession | null> {
    if (cookieSecret === undefined) return null;
    const found = await this.read(id);
    if (!found) return null;
    if (cookieMatches(found.cookie, cookieSecret)) return { ...found.record, access: ownerAccess(found.record) };
    const kept = found.fields[`c:${hashCookieSecret(cookieSecret)}`];
    if (kept === undefined) return null;
    try {
      const { link, viewOnly } = JSON.parse(kept) as { link: string; viewOnly: boolean };
      return { ...found.record, access: sharedAccess(found.record, { link: String(link), viewOnly: viewOnly !== false }) };
    } catch {
      return null;
    }
  }

  /** A field of the session's own hash: it goes with the session, under the same TTL, and no other key is made. */
  async addBrowser(id: string, access: { link: string; viewOnly: boolean }): Promise<string | null> {
    const cookie = newCookieSecret();
    const kept = JSON.stringify({ link: access.link, viewOnly: access.viewOnly });
    const added = await storeCall('adding a browser to a session', () => this.scripts.setIfExists(this.key(id), `c:${cookie.hash}`, kept));
    return added === 1 ? cookie.secret : null;
  }

  /** The hash field counting this replica's viewers with `access`. */
  private accessField(access: ViewerAccess): string {
    return `a:${this.replicaId}|${accessKey(access)}`;
  }

  /** The access of a viewer that gave none: the session's own link, as the record says. */
  private async ownAccess(id: string): Promise<ViewerAccess | null> {
    const record = await this.get(id);
    return record && ownerAccess(record);
  }

  async join(id: string, access?: ViewerAccess): Promise<SessionRecord | null> {
    await this.refreshReplicas();
    const counted = access ?? (await this.ownAccess(id));
    if (!counted) return null;
    const result = await storeCall('joining a session', () =>
      this.scripts.joinViewer(this.key(id), this.replicaId, this.options.limits.maxViewersPerSession, this.now(), this.accessField(counted), ...this.liveList()),
    );
    if (result === -1) return null;
    if (result === -2) throw new ViewerLimitError(this.options.limits.maxViewersPerSession);
    return this.get(id);
  }

  async leave(id: string, access?: ViewerAccess): Promise<void> {
    await this.refreshReplicas();
    const counted = access ?? (await this.ownAccess(id));
    if (!counted) return;
    await storeCall('leaving a session', () => this.scripts.leaveViewer(this.key(id), this.replicaId, this.now(), this.accessField(counted), ...this.liveList()));
  }

  async recordActivity(id: string, activity: SessionActivity): Promise<void> {
    await storeCall('recording session activity', () =>
      this.scripts.recordActivity(this.key(id), activity.bytesToBrowser, activity.bytesToUpstream, activity.lastInputAt ?? ''),
    );
  }

  async updateGrant(id: string, version: number, grant: ConsoleGrant): Promise<boolean> {
    const key = this.key(id);
    const sealed = this.options.box.seal(JSON.stringify(grant), key);
    return (await storeCall('updating a session', () => this.scripts.compareAndSetGrant(key, String(version), sealed))) === 1;
  }

  async setLastError(id: string, code: string): Promise<void> {
    await storeCall('updating a session', () => this.scripts.setIfExists(this.key(id), 'lastError', code));
  }

  async end(id: string, reason: string): Promise<boolean> {
    const deleted = await storeCall('ending a session', () => this.redis.del(this.key(id)));
    if (deleted !== 1) return false;
    await this.announceEnd(id, reason);
    return true;
  }

  private async announceEnd(id: string, reason: string): Promise<void> {
    this.endedHere.add(id);
    setTimeout(() => this.endedHere.delete(id), 60_000).unref();
    this.events.emit('ended', { id, reason } satisfies SessionEnded);
    await storeCall('announcing a session end', async () => {
      await this.redis.zrem(this.indexKey, id);
      await this.redis.publish(this.channel, JSON.stringify({ id, reason }));
    });
  }

  private heard(message: string): void {
    let ended: SessionEnded;
    try {
      ended = JSON.parse(message) as SessionEnded;
    } catch {
      return;
    }
    if (typeof ended.id !== 'string' || typeof ended.reason !== 'string' || this.endedHere.has(ended.id)) return;
    this.events.emit('ended', { id: ended.id, reason: ended.reason } satisfies SessionEnded);
  }

  async endDue(): Promise<number> {
    await this.refreshReplicas();
    const now = this.now();
    const due = await storeCall('finding sessions due', () => this.redis.zrangebyscore(this.indexKey, '-inf', now, 'LIMIT', 0, SWEEP_BATCH));
    let ended = 0;
    for (const id of due) {
      const found = await this.read(id);
      if (!found) {
        // Its hash expired (or cannot be read): it is over; its viewers are told like any other.
        await this.announceEnd(id, 'session lifetime reached');
        ended++;
        continue;
      }
      const check = checkDue(found.record, now, this.options.limits, this.isLive);
      const key = this.key(id);
      if (check.kind === 'end') {
        if ((await storeCall('ending a session', () => this.scripts.deleteIfUnchanged(key, found.rev))) === 1) {
          await this.announceEnd(id, check.reason);
          ended++;
        }
      } else if (check.kind === 'unwatched') {
        await storeCall('updating a session', () => this.scripts.markUnwatched(key, found.rev, now));
      } else {
        await storeCall('scheduling a session check', () => this.redis.zadd(this.indexKey, 'XX', check.at, id));
      }
    }
    return ended;
  }

  private async records(): Promise<SessionRecord[]> {
    const ids = await storeCall('listing sessions', () => this.redis.zrange(this.indexKey, 0, -1));
    const found = await Promise.all(ids.map((id) => this.read(id)));
    return found.flatMap((f) => (f ? [f.record] : []));
  }

  async list(): Promise<SessionSummary[]> {
    return (await this.records()).map((record) => summarize(record, this.isLive));
  }

  async live(): Promise<SessionRecord[]> {
    return this.records();
  }

  async createdTotal(): Promise<number> {
    return Number((await storeCall('counting sessions', () => this.redis.get(this.createdKey))) ?? '0');
  }

  onEnded(listener: (ended: SessionEnded) => void): void {
    this.events.on('ended', listener);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.events.removeAllListeners();
    await this.redis.hdel(this.replicasKey, this.replicaId).catch(() => {});
  }
}
