import { tokenPrefix, type Logger } from '../log.js';
import type { PowerAction } from '../proxmox/client.js';
import { StoreUnavailableError } from '../redis/errors.js';
import { LogThrottle } from '../security/log-throttle.js';
import type { ClientInfo, ConsoleEvents, ViewerInfo, ViewerUse } from '../sessions/events.js';
import type { ConsoleGrant } from '../sessions/grant.js';
import type { SessionRecord } from '../sessions/record.js';
import type { SessionEnded } from '../sessions/store.js';
import { commonFields, eventParts, linkKey, type EventParts, type WebhookEventType } from './event.js';
import type { WebhookMetrics } from './metrics.js';
import type { QueueResult, WebhookStore } from './store.js';

/** A user agent is the browser's to write: kept to a length a backend can store. */
const MAX_USER_AGENT = 512;
/**
 * A token redeemed just before its expiry is told as redeemed, not expired: the expiry is judged
 * this long after the fact, by when its redemption has long been recorded.
 */
const EXPIRY_GRACE_MS = 2_000;
/** A session's end waits this long at most for its viewers here to be told as gone first. */
const END_WAITS_FOR_VIEWERS_MS = 5_000;
/**
 * With replicas, a replica holding none of an ended session's viewers lets one that does tell
 * the end first (after its viewers' disconnects), for this long; then it tells it itself, in
 * case none does (the one that held them died).
 */
const END_DEFERS_TO_VIEWERS_ELSEWHERE_MS = 1_500;
/** How long a session's link is remembered for its events, past its own longest life. */
const SESSION_MEMORY_MARGIN_MS = 24 * 60 * 60 * 1000;
/** Events held in this process while Redis cannot take them, and how often it is asked again. */
const MAX_HELD = 10_000;
const HELD_RETRY_MS = 1_000;

function client(info: ClientInfo): Record<string, unknown> {
  return { client_address: info.address, user_agent: info.userAgent === undefined ? null : info.userAgent.slice(0, MAX_USER_AGENT) };
}

function sessionCommon(session: SessionRecord): string {
  return commonFields(session.tokenPrefix, session.grant.vmid, session.grant.tag);
}

export interface WebhookEventsOptions {
  store: WebhookStore;
  metrics: WebhookMetrics;
  log: Logger;
  /** Told whenever an event was queued here. */
  queued(): void;
  /** The store is shared by replicas (Redis): another may hold an ended session's viewers. */
  shared: boolean;
  now?: () => number;
}

/**
 * The gateway's events as webhooks: each is queued off the caller's path (nothing awaits it),
 * and a queue that cannot take it costs the event, counted and logged, never the console.
 */
export class WebhookEvents implements ConsoleEvents {
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly logThrottle = new LogThrottle(60_000);
  /** Viewers of each session connected to this replica: a session's end is told after theirs. */
  private readonly viewersHere = new Map<string, number>();
  private readonly endsWaiting = new Map<string, () => void>();
  private readonly expirySweep: NodeJS.Timeout;
  private sweeping = false;
  /** Events the store could not take (Redis away), oldest first, put again once it answers. */
  private readonly held: Array<{ type: WebhookEventType; put: () => Promise<QueueResult> }> = [];
  private retryHeld: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: WebhookEventsOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log;
    this.expirySweep = setInterval(() => void this.sweepExpired(), 1_000);
    this.expirySweep.unref();
  }

  tokenCreated(token: string, grant: ConsoleGrant, expiresAt: number): void {
    const event = eventParts('token.created', null, { expires_at: new Date(expiresAt).toISOString(), console: grant.console, view_only: grant.viewOnly }, this.now());
    this.queue('token.created', () => this.options.store.tokenCreated(linkKey(token), event, commonFields(tokenPrefix(token), grant.vmid, grant.tag), expiresAt));
  }

  tokenRevoked(token: string): void {
    const event = eventParts('token.revoked', null, {}, this.now());
    this.queue('token.revoked', () => this.options.store.tokenEnded(linkKey(token), event));
  }

  sessionRedeemed(token: string, session: SessionRecord, info: ClientInfo): void {
    const event = eventParts('session.redeemed', session.id, client(info), this.now());
    const ttl = session.expiresAt - this.now() + SESSION_MEMORY_MARGIN_MS;
    this.queue('session.redeemed', () => this.options.store.sessionRedeemed(linkKey(token), session.id, event, sessionCommon(session), ttl));
  }

  viewerConnected(session: SessionRecord, viewer: ViewerInfo): void {
    this.viewersHere.set(session.id, (this.viewersHere.get(session.id) ?? 0) + 1);
    this.sessionEvent('viewer.connected', session, {
      viewer_id: viewer.id,
      view_only: viewer.viewOnly,
      // Support staff watching through a shared link are told apart from the user.
      shared_link: viewer.shared,
      link_token_prefix: viewer.link,
      ...client(viewer.client),
    });
  }

  viewerDisconnected(session: SessionRecord, viewer: ViewerInfo, use: ViewerUse): void {
    this.sessionEvent('viewer.disconnected', session, {
      viewer_id: viewer.id,
      bytes_to_browser: use.bytesToBrowser,
      bytes_to_proxmox: use.bytesToUpstream,
      duration_ms: Math.round(use.durationMs),
      reason: use.reason,
    });
    const left = (this.viewersHere.get(session.id) ?? 1) - 1;
    if (left > 0) this.viewersHere.set(session.id, left);
    else {
      this.viewersHere.delete(session.id);
      this.endsWaiting.get(session.id)?.();
    }
  }

  sessionEnded(ended: SessionEnded): void {
    const at = this.now();
    const tell = () => {
      this.endsWaiting.delete(ended.id);
      const event = eventParts('session.ended', ended.id, { reason: ended.reason }, at);
      // Every replica hears of every end: the store queues it for the first to ask only.
      this.queue('session.ended', () => this.options.store.sessionEvent(ended.id, event, commonFields('', 0, undefined), true));
    };
    const here = this.viewersHere.has(ended.id);
    if (!here && !this.options.shared) return tell();
    // Its viewers here are being closed by the same end: their disconnects go first.
    const timer = setTimeout(tell, here ? END_WAITS_FOR_VIEWERS_MS : END_DEFERS_TO_VIEWERS_ELSEWHERE_MS);
    timer.unref();
    this.endsWaiting.set(ended.id, () => {
      clearTimeout(timer);
      tell();
    });
  }

  powerAction(session: SessionRecord, action: PowerAction, outcome: string): void {
    this.sessionEvent('power.action', session, { action, outcome });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.expirySweep);
    clearTimeout(this.retryHeld);
    for (const tell of [...this.endsWaiting.values()]) tell();
  }

  private sessionEvent(type: WebhookEventType, session: SessionRecord, data: Record<string, unknown>): void {
    const event = eventParts(type, session.id, data, this.now());
    this.queue(type, () => this.options.store.sessionEvent(session.id, event, sessionCommon(session), false));
  }

  /** Every replica sweeps; the store lets one of them tell each expiry. */
  private async sweepExpired(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const { key, expiresAt } of await this.options.store.expiredTokens(this.now() - EXPIRY_GRACE_MS, 500)) {
        const event: EventParts = eventParts('token.expired', null, { expired_at: new Date(expiresAt).toISOString() }, expiresAt);
        this.count('token.expired', await this.options.store.tokenEnded(key, event));
      }
    } catch (error) {
      this.warn('sweep', 'token expiries not told: the webhook queue is unreachable', { error });
    } finally {
      this.sweeping = false;
    }
  }

  private queue(type: WebhookEventType, put: () => Promise<QueueResult>): void {
    // Behind events already waiting for the store: a link's events keep their order.
    if (this.held.length > 0) return this.hold(type, put);
    put().then(
      (result) => this.count(type, result),
      (error: unknown) => this.failed(type, put, error),
    );
  }

  /** Redis away: the event waits here, in order, until it is back; any other failure loses it. */
  private failed(type: WebhookEventType, put: () => Promise<QueueResult>, error: unknown): void {
    if (error instanceof StoreUnavailableError) return this.hold(type, put);
    this.options.metrics.dropped.labels('store_unavailable').inc();
    this.warn('store', 'webhook event lost: the queue could not take it', { event: type, error });
  }

  private hold(type: WebhookEventType, put: () => Promise<QueueResult>): void {
    if (this.held.length >= MAX_HELD) {
      this.options.metrics.dropped.labels('store_unavailable').inc();
      this.warn('held', 'webhook event lost: Redis is away and the events waiting for it fill their buffer', { event: type });
      return;
    }
    this.held.push({ type, put });
    if (!this.closed) this.retryHeld ??= setTimeout(() => void this.putHeld(), HELD_RETRY_MS);
  }

  private async putHeld(): Promise<void> {
    while (this.held.length > 0) {
      const { type, put } = this.held[0]!;
      try {
        this.count(type, await put());
      } catch (error) {
        if (error instanceof StoreUnavailableError) {
          this.retryHeld = this.closed ? undefined : setTimeout(() => void this.putHeld(), HELD_RETRY_MS);
          return;
        }
        this.failed(type, put, error);
      }
      this.held.shift();
    }
    this.retryHeld = undefined;
  }

  private count(type: WebhookEventType, result: QueueResult): void {
    if (result === 'queued') this.options.queued();
    else if (result === 'full') {
      this.options.metrics.dropped.labels('queue_full').inc();
      this.warn('full', 'webhook event dropped: the queue is full (webhook_queue_max)', { event: type });
    }
  }

  private warn(kind: string, message: string, fields: Record<string, unknown>): void {
    const held = this.logThrottle.admit(kind);
    if (held !== null) this.log.warn(message, { ...fields, ...(held > 0 ? { held_back: held } : {}) });
  }
}
