import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { RedisConnection } from '../redis/connection.js';
import type { ConsoleEvents } from '../sessions/events.js';
import { WebhookDeliverer } from './deliverer.js';
import { WebhookEvents } from './emitter.js';
import { MemoryWebhookStore } from './memory-store.js';
import { WebhookMetrics } from './metrics.js';
import { RedisWebhookStore } from './redis-store.js';
import { DEFAULT_RETRY } from './retry.js';
import type { WebhookStore } from './store.js';

/** Deliveries at once: enough for a slow receiver not to hold every link back, few enough not to flood it. */
const CONCURRENCY = 4;
/** A stopping gateway without Redis loses what is still queued: it first gives the queue this long to empty. */
const MEMORY_FLUSH_MS = 2_000;

export interface Webhooks {
  events: ConsoleEvents;
  close(): Promise<void>;
}

/**
 * Events to webhook_url: a queue beside the stores (in Redis with redis_url, so a replica's death
 * loses none), and a deliverer sending them. Null without webhook_url.
 */
export function startWebhooks(config: Config, deps: { redis: RedisConnection | null; registry: Registry; log: Logger }): Webhooks | null {
  if (config.webhook_url === undefined || config.webhook_secret === undefined) return null;
  const log = deps.log.child('WEBHOOK');
  const store: WebhookStore = deps.redis
    ? new RedisWebhookStore({ redis: deps.redis.client, prefix: config.redis_key_prefix, maxQueued: config.webhook_queue_max })
    : new MemoryWebhookStore(config.webhook_queue_max);
  const metrics = new WebhookMetrics(deps.registry, () => store.depth());
  const deliverer = new WebhookDeliverer({
    store,
    url: config.webhook_url,
    secret: config.webhook_secret,
    timeoutMs: config.webhook_timeout * 1000,
    retry: { ...DEFAULT_RETRY, initialMs: config.webhook_retry_initial * 1000 },
    concurrency: CONCURRENCY,
    log,
    metrics,
  });
  const events = new WebhookEvents({ store, metrics, log, queued: () => deliverer.wake(), shared: deps.redis !== null });
  deliverer.start();
  log.info(`sending events to ${new URL(config.webhook_url).origin}`, { queue: deps.redis ? 'redis' : 'memory' });
  return {
    events,
    async close() {
      events.close();
      // In Redis the queue outlives this process: another replica, or this one restarted, sends it.
      if (!deps.redis) await deliverer.drain(MEMORY_FLUSH_MS);
      await deliverer.close();
    },
  };
}
