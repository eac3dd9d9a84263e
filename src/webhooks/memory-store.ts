import { randomBytes } from 'node:crypto';
import { assemble, type EventParts } from './event.js';
import type { Delivery, QueueResult, WebhookStore } from './store.js';

interface Queued {
  body: string;
  enqueuedAt: number;
}

interface KeyQueue {
  events: Queued[];
  /** When its head may be taken: its next attempt, or the end of a lease. */
  dueAt: number;
  lease?: string;
  failures: number;
}

/** The queue of one gateway process (no redis_url): gone with the process, like its sessions. */
export class MemoryWebhookStore implements WebhookStore {
  private readonly queues = new Map<string, KeyQueue>();
  private readonly tokens = new Map<string, { common: string; expiresAt: number }>();
  private readonly sessions = new Map<string, { key: string; common: string }>();
  private queued = 0;
  /**
   * No head is due before this, nor any token expired: idle deliverers polling a long queue for a
   * dead receiver do not walk it each time (on the event loop the consoles share).
   */
  private nextDueAt = 0;
  private nextExpiryAt = 0;

  constructor(
    private readonly maxQueued: number,
    private readonly now: () => number = Date.now,
  ) {}

  private push(key: string, body: string): QueueResult {
    if (this.queued >= this.maxQueued) return 'full';
    let queue = this.queues.get(key);
    if (!queue) {
      this.queues.set(key, (queue = { events: [], dueAt: this.now(), failures: 0 }));
      this.nextDueAt = Math.min(this.nextDueAt, queue.dueAt);
    }
    queue.events.push({ body, enqueuedAt: this.now() });
    this.queued++;
    return 'queued';
  }

  async tokenCreated(key: string, event: EventParts, common: string, expiresAt: number): Promise<QueueResult> {
    this.tokens.set(key, { common, expiresAt });
    this.nextExpiryAt = Math.min(this.nextExpiryAt, expiresAt);
    return this.push(key, assemble(event, common));
  }

  async tokenEnded(key: string, event: EventParts): Promise<QueueResult> {
    const token = this.tokens.get(key);
    if (!token) return 'none';
    this.tokens.delete(key);
    return this.push(key, assemble(event, token.common));
  }

  async expiredTokens(before: number, limit: number): Promise<Array<{ key: string; expiresAt: number }>> {
    const due: Array<{ key: string; expiresAt: number }> = [];
    if (before < this.nextExpiryAt) return due;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, { expiresAt }] of this.tokens) {
      if (due.length >= limit) return due;
      if (expiresAt <= before) due.push({ key, expiresAt });
      else next = Math.min(next, expiresAt);
    }
    this.nextExpiryAt = next;
    return due;
  }

  async sessionRedeemed(key: string, sessionId: string, event: EventParts, fallbackCommon: string): Promise<QueueResult> {
    const common = this.tokens.get(key)?.common ?? fallbackCommon;
    this.tokens.delete(key);
    this.sessions.set(sessionId, { key, common });
    return this.push(key, assemble(event, common));
  }

  async sessionEvent(sessionId: string, event: EventParts, fallbackCommon: string, final: boolean): Promise<QueueResult> {
    const session = this.sessions.get(sessionId);
    if (final) {
      if (!session) return 'none';
      this.sessions.delete(sessionId);
    }
    return this.push(session?.key ?? sessionId, assemble(event, session?.common ?? fallbackCommon));
  }

  async claim(now: number, leaseMs: number): Promise<Delivery | null> {
    if (now < this.nextDueAt) return null;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, queue] of this.queues) {
      const head = queue.events[0];
      if (queue.dueAt > now || !head) {
        next = Math.min(next, queue.dueAt);
        continue;
      }
      queue.lease = randomBytes(8).toString('hex');
      queue.dueAt = now + leaseMs;
      // Only a lower bound once the walk stops early: the next claim walks again.
      this.nextDueAt = 0;
      return { key, body: head.body, enqueuedAt: head.enqueuedAt, failures: queue.failures, lease: queue.lease };
    }
    this.nextDueAt = next;
    return null;
  }

  async done(delivery: Delivery, now: number): Promise<void> {
    const queue = this.held(delivery);
    if (!queue) return;
    queue.events.shift();
    this.queued--;
    delete queue.lease;
    queue.failures = 0;
    queue.dueAt = now;
    this.nextDueAt = Math.min(this.nextDueAt, now);
    // Re-inserted behind the others: one busy link does not keep the rest waiting.
    this.queues.delete(delivery.key);
    if (queue.events.length > 0) this.queues.set(delivery.key, queue);
  }

  async retry(delivery: Delivery, at: number, failed: boolean): Promise<void> {
    const queue = this.held(delivery);
    if (!queue) return;
    delete queue.lease;
    if (failed) queue.failures++;
    queue.dueAt = at;
    this.nextDueAt = Math.min(this.nextDueAt, at);
  }

  async depth(): Promise<number> {
    return this.queued;
  }

  private held(delivery: Delivery): KeyQueue | undefined {
    const queue = this.queues.get(delivery.key);
    return queue?.lease === delivery.lease ? queue : undefined;
  }
}
