import type { ConsoleGrant, ConsoleKind, GuestType } from './grant.js';

export type SessionState = 'created' | 'active' | 'disconnected' | 'ended';

/**
 * What one browser's cookie lets it do in its session: the redeeming browser's own, or one of a
 * shared link (POST /sessions/<id>/links), never more than the session's grant allows.
 */
export interface ViewerAccess {
  /** Token prefix of the link the browser came with. */
  readonly link: string;
  readonly viewOnly: boolean;
  /** It came with a shared link, not the session's own. */
  readonly shared: boolean;
}

/** The access of the browser that redeemed the session's own token. */
export function ownerAccess(record: SessionRecord): ViewerAccess {
  return { link: record.tokenPrefix, viewOnly: record.grant.viewOnly, shared: false };
}

/** The access of a shared link's browser: view-only whenever the session is. */
export function sharedAccess(record: SessionRecord, kept: { link: string; viewOnly: boolean }): ViewerAccess {
  return { link: kept.link, viewOnly: kept.viewOnly || record.grant.viewOnly, shared: true };
}

/** A store's name for an access, e.g. `sr:AbCdEf…` (shared, view-only); token prefixes hold no ':'. */
export function accessKey(access: ViewerAccess): string {
  return `${access.shared ? 's' : 'o'}${access.viewOnly ? 'r' : 'w'}:${access.link}`;
}

function accessOfKey(key: string): ViewerAccess {
  return { shared: key[0] === 's', viewOnly: key[1] === 'r', link: key.slice(3) };
}

/**
 * A browser session as the stores keep it: plain data, the same in memory and in Redis, so any
 * replica can serve it. Viewers' sockets are not in it, only how many each replica holds.
 */
export interface SessionRecord {
  readonly id: string;
  /** Short token prefix, for operators matching a session to the link they handed out. */
  readonly tokenPrefix: string;
  readonly grant: ConsoleGrant;
  /** Bumped by every grant change, for compare-and-set between replicas. */
  readonly grantVersion: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly connectedAt?: number;
  /** The last keyboard, pointer or clipboard input of any viewer (creation until then). */
  readonly lastInputAt: number;
  /** Since when no viewer has watched: redemption, or the last viewer leaving. Absent while watched. */
  readonly unwatchedSince?: number;
  /** Viewers per replica id holding their sockets. */
  readonly viewers: Readonly<Record<string, number>>;
  /** The same viewers by the access they came with (accessKey), per replica id; absent: none known. */
  readonly viewerAccess?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly bytesToBrowser: number;
  readonly bytesToUpstream: number;
  /** Code of the last Proxmox failure a viewer met (e.g. `xterm_requires_password`), for `/status`. */
  readonly lastError?: string;
}

/** Viewers on replicas still alive: a killed replica's count must not hold a session open. */
export function liveViewers(record: SessionRecord, isLive: (replica: string) => boolean = () => true): number {
  let total = 0;
  for (const [replica, count] of Object.entries(record.viewers)) if (isLive(replica)) total += count;
  return total;
}

export function sessionState(record: SessionRecord, isLive?: (replica: string) => boolean): SessionState {
  if (liveViewers(record, isLive) > 0) return 'active';
  return record.connectedAt === undefined ? 'created' : 'disconnected';
}

export interface SessionSummary {
  id: string;
  tokenPrefix: string;
  node?: string;
  vmid: number;
  type?: GuestType;
  console: ConsoleKind;
  /** The backend's `tag`, when it gave one. */
  tag?: string;
  /** Its viewer connections are recorded (`record`). */
  recorded: boolean;
  state: SessionState;
  createdAt: number;
  connectedAt?: number;
  viewers: number;
  /** Its viewers by the link they came with, the session's own link first. */
  viewersByLink: Array<ViewerAccess & { viewers: number }>;
  /** Replicas holding its viewers (one gateway: just this one). */
  replicas: string[];
  bytesToBrowser: number;
  bytesToUpstream: number;
  lastError?: string;
}

export function summarize(record: SessionRecord, isLive?: (replica: string) => boolean): SessionSummary {
  const live = (replica: string) => (isLive ? isLive(replica) : true);
  return {
    id: record.id,
    tokenPrefix: record.tokenPrefix,
    node: record.grant.node,
    vmid: record.grant.vmid,
    type: record.grant.type,
    console: record.grant.console,
    ...(record.grant.tag !== undefined ? { tag: record.grant.tag } : {}),
    recorded: record.grant.record === true,
    state: sessionState(record, isLive),
    createdAt: record.createdAt,
    connectedAt: record.connectedAt,
    viewers: liveViewers(record, isLive),
    viewersByLink: viewersByLink(record, live),
    replicas: Object.entries(record.viewers)
      .filter(([replica, count]) => count > 0 && live(replica))
      .map(([replica]) => replica),
    bytesToBrowser: record.bytesToBrowser,
    bytesToUpstream: record.bytesToUpstream,
    lastError: record.lastError,
  };
}

function viewersByLink(record: SessionRecord, isLive: (replica: string) => boolean): SessionSummary['viewersByLink'] {
  const counts = new Map<string, number>();
  for (const [replica, byAccess] of Object.entries(record.viewerAccess ?? {})) {
    if (!isLive(replica)) continue;
    for (const [key, count] of Object.entries(byAccess)) if (count > 0) counts.set(key, (counts.get(key) ?? 0) + count);
  }
  return [...counts]
    .map(([key, viewers]) => ({ ...accessOfKey(key), viewers }))
    .sort((a, b) => Number(a.shared) - Number(b.shared) || a.link.localeCompare(b.link));
}

export function sessionTitle(record: SessionRecord): string {
  return record.grant.title ?? `VM ${record.grant.vmid}`;
}
