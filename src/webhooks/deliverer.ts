import { Agent, request } from 'undici';
import type { Logger } from '../log.js';
import { LogThrottle } from '../security/log-throttle.js';
import type { WebhookMetrics } from './metrics.js';
import { nextAttemptAt, parseRetryAfter, type RetryPolicy } from './retry.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { Delivery, WebhookStore } from './store.js';

/** When nothing is due, how often the store is asked again (events queued by other replicas). */
const IDLE_POLL_MS = 250;
const USER_AGENT = 'proxmoxvnc-webhooks/1';
/** An answer's body is read (to keep the connection) up to this much, then the connection is dropped. */
const ANSWER_READ_LIMIT = 128 * 1024;

export interface DelivererOptions {
  store: WebhookStore;
  url: string;
  secret: string;
  /** For one attempt as a whole: connecting, the answer's headers and its body. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Deliveries at once; one per order key at most, so order holds. */
  concurrency: number;
  log: Logger;
  metrics: WebhookMetrics;
  now?: () => number;
}

/**
 * Takes events off the queue and POSTs them, signed, to webhook_url. It runs beside the consoles
 * and never in their way: nothing on a console's path awaits it.
 */
export class WebhookDeliverer {
  private readonly agent: Agent;
  private readonly now: () => number;
  private readonly leaseMs: number;
  private readonly stopping = new AbortController();
  private readonly workers: Promise<void>[] = [];
  private readonly waiting = new Set<() => void>();
  private readonly logThrottle = new LogThrottle(60_000);
  /** Where events go, for logs: the URL's origin only (its path or query may hold a credential). */
  private readonly target: string;

  constructor(private readonly options: DelivererOptions) {
    this.now = options.now ?? Date.now;
    // undici's header and body timeouts are per phase, the body's only between chunks: each
    // attempt's own deadline (deliver) bounds the whole of it. Connecting may use all of it, not undici's 10 s.
    this.agent = new Agent({ connect: { timeout: options.timeoutMs } });
    // Well past an attempt's deadline and the store update after it: a lease lapses only when its holder died.
    this.leaseMs = 3 * options.timeoutMs + 5_000;
    this.target = new URL(options.url).origin;
  }

  start(): void {
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(this.work());
  }

  /** Something was queued here: look now rather than at the next poll. */
  wake(): void {
    // Every waiting worker wakes: one event may be followed by many.
    for (const done of [...this.waiting]) done();
  }

  /** Resolves once nothing is queued, or after `ms`. */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && (await this.options.store.depth().catch(() => 0)) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops taking events; attempts in flight are cut off and left due at once, for another replica or the next start. */
  async close(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await Promise.all(this.workers);
    await this.agent.close().catch(() => {});
  }

  private async work(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let delivery: Delivery | null = null;
      try {
        delivery = await this.options.store.claim(this.now(), this.leaseMs);
      } catch (error) {
        this.warn('store', 'webhook queue unreachable; delivery waits', { error });
      }
      if (delivery) await this.deliver(delivery);
      else await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, IDLE_POLL_MS);
      this.waiting.add(done);
    });
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const { store, url, secret } = this.options;
    let failure: { reason: string; status?: number; retryAfterMs: number | null };
    // A receiver trickling its answer must not hold the attempt past its lease: another worker
    // would send the same event beside it.
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const signal = AbortSignal.any([this.stopping.signal, deadline]);
    try {
      const answer = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          [SIGNATURE_HEADER]: signatureHeader(secret, Math.floor(this.now() / 1000), delivery.body),
        },
        body: delivery.body,
      });
      // The body is part of the attempt (webhook_timeout covers it); one broken off otherwise counts by its status.
      await answer.body.dump({ limit: ANSWER_READ_LIMIT, signal }).catch((error: unknown) => {
        if (signal.aborted) throw error;
      });
      if (answer.statusCode >= 200 && answer.statusCode < 300) {
        this.options.metrics.delivered.inc();
        await this.settle(() => store.done(delivery, this.now()));
        return;
      }
      // Redirects are not followed (an event is not sent where the configured URL does not say): a failure too.
      failure = { reason: `http_${Math.min(5, Math.max(1, Math.floor(answer.statusCode / 100)))}xx`, status: answer.statusCode, retryAfterMs: parseRetryAfter(answer.headers['retry-after'], this.now()) };
    } catch (error) {
      if (this.stopping.signal.aborted) {
        // Not the receiver's fault: due again at once, the attempt not counted.
        await store.retry(delivery, this.now(), false).catch(() => {});
        return;
      }
      const code = (error as { code?: string }).code ?? '';
      failure = { reason: deadline.aborted || /TIMEOUT/.test(code) ? 'timeout' : 'network', retryAfterMs: null };
      this.warn(failure.reason, 'webhook delivery failed', { target: this.target, reason: failure.reason, error });
    }
    this.options.metrics.failures.labels(failure.reason).inc();
    if (failure.status !== undefined) this.warn(failure.reason, 'webhook delivery refused', { target: this.target, status: failure.status });
    const failures = delivery.failures + 1;
    const at = nextAttemptAt(this.options.retry, failures, delivery.enqueuedAt, this.now(), failure.retryAfterMs);
    if (at === null) {
      this.options.metrics.dropped.labels('retries_exhausted').inc();
      this.options.log.error('webhook event given up: not delivered within the retry window', { target: this.target, attempts: failures });
      await this.settle(() => store.done(delivery, this.now()));
      return;
    }
    await this.settle(() => store.retry(delivery, at, true));
  }

  /** A store that cannot take the outcome now leaves the lease to lapse: the event is sent again later, not lost. */
  private async settle(update: () => Promise<void>): Promise<void> {
    try {
      await update();
    } catch (error) {
      this.warn('store', 'webhook queue unreachable; the event will be sent again', { error });
    }
  }

  private warn(kind: string, message: string, fields: Record<string, unknown>): void {
    const held = this.logThrottle.admit(kind);
    if (held !== null) this.options.log.warn(message, { ...fields, ...(held > 0 ? { held_back: held } : {}) });
  }
}
