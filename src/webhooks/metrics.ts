import { Counter, Gauge, type Registry } from 'prom-client';

/** The webhooks' metrics, on the gateway's registry (src/metrics/gateway-metrics.ts). */
export class WebhookMetrics {
  readonly delivered: Counter;
  /** Failed attempts, by why: each is retried until the event is given up. */
  readonly failures: Counter<'reason'>;
  /** Events that never reached the backend, by why. */
  readonly dropped: Counter<'reason'>;

  constructor(registry: Registry, depth: () => Promise<number>) {
    this.delivered = new Counter({ name: 'proxmoxvnc_webhook_deliveries_total', help: 'Events the backend accepted (a 2xx answer)', registers: [registry] });
    this.failures = new Counter({
      name: 'proxmoxvnc_webhook_delivery_failures_total',
      help: 'Failed delivery attempts, by reason (http_3xx, http_4xx, http_5xx, timeout, network); each is retried',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'proxmoxvnc_webhook_events_dropped_total',
      help: 'Events given up, by reason (retries_exhausted: undelivered for the whole retry window; queue_full; store_unavailable: Redis could not take it)',
      labelNames: ['reason'],
      registers: [registry],
    });
    new Gauge({
      name: 'proxmoxvnc_webhook_queue_depth',
      help: 'Events waiting for delivery (with Redis: across every replica)',
      registers: [registry],
      async collect() {
        this.set(await depth());
      },
    });
  }
}
