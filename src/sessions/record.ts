import type { ConsoleGrant, ConsoleKind, GuestType } from './grant.js';

export type SessionState = 'created' | 'active' | 'disconnected' | 'ended';

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
  state: SessionState;
  createdAt: number;
  connectedAt?: number;
  viewers: number;
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
    state: sessionState(record, isLive),
    createdAt: record.createdAt,
    connectedAt: record.connectedAt,
    viewers: liveViewers(record, isLive),
    replicas: Object.entries(record.viewers)
      .filter(([replica, count]) => count > 0 && live(replica))
      .map(([replica]) => replica),
    bytesToBrowser: record.bytesToBrowser,
    bytesToUpstream: record.bytesToUpstream,
    lastError: record.lastError,
  };
}

export function sessionTitle(record: SessionRecord): string {
  return record.grant.title ?? `VM ${record.grant.vmid}`;
}
