import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionStore } from '../sessions/store.js';

/** Bytes of one direction counted between two reads of the counter, added to it when it is read. */
class PendingCount {
  private pending = 0;
  private readonly labels: { direction: string };

  constructor(direction: string) {
    this.labels = { direction };
  }

  inc(bytes: number): void {
    this.pending += bytes;
  }

  addTo(counter: Counter<'direction'>): void {
    if (this.pending === 0) return;
    counter.inc(this.labels, this.pending);
    this.pending = 0;
  }
}

/**
 * The gateway's Prometheus metrics, on a registry of its own (several gateways may share a
 * process in tests). Session gauges are computed from the registry when scraped, so they can
 * never drift from the truth.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly tokensCreated = new Counter({ name: 'proxmoxvnc_tokens_created_total', help: 'Console tokens handed out', registers: [this.registry] });
  readonly tokensRedeemed = new Counter({ name: 'proxmoxvnc_tokens_redeemed_total', help: 'Console tokens redeemed', registers: [this.registry] });
  readonly tokensExpired = new Counter({ name: 'proxmoxvnc_tokens_expired_total', help: 'Console tokens that expired unused', registers: [this.registry] });
  readonly redemptionsInvalid = new Counter({
    name: 'proxmoxvnc_redemptions_invalid_total',
    help: 'Redemptions of unknown, used or expired tokens',
    registers: [this.registry],
  });
  readonly proxmoxErrors = new Counter({
    name: 'proxmoxvnc_proxmox_errors_total',
    help: 'Failed Proxmox checks and console openings, by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly bytesRelayed = new Counter({
    name: 'proxmoxvnc_bytes_relayed_total',
    help: 'Console bytes relayed, by direction',
    labelNames: ['direction'],
    registers: [this.registry],
    collect: () => {
      this.toBrowser.addTo(this.bytesRelayed);
      this.toProxmox.addTo(this.bytesRelayed);
    },
  });
  readonly powerActions = new Counter({
    name: 'proxmoxvnc_power_actions_total',
    help: 'Power actions users asked for from the console page, by action and outcome (ok or the error code)',
    labelNames: ['action', 'outcome'],
    registers: [this.registry],
  });
  readonly firstFrameSeconds = new Histogram({
    name: 'proxmoxvnc_first_frame_seconds',
    help: 'Time from a console websocket opening to its first relayed frame',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly proxmoxCallSeconds = new Histogram({
    name: 'proxmoxvnc_proxmox_call_seconds',
    help: 'Proxmox API calls and console websocket dials, by route and outcome (ok or the error code)',
    labelNames: ['route', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** The relay's hot path only adds numbers: prom-client's inc builds and looks up a label string each call. */
  readonly toBrowser = new PendingCount('to_browser');
  readonly toProxmox = new PendingCount('to_proxmox');

  constructor(sessions: SessionStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'proxmoxvnc_process_' });
    new Gauge({
      name: 'proxmoxvnc_sessions',
      help: 'Sessions by state, console kind and guest type',
      labelNames: ['state', 'console', 'type'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of await sessions.list()) this.inc({ state: s.state, console: s.console, type: s.type ?? 'unknown' });
      },
    });
    new Gauge({
      name: 'proxmoxvnc_viewers',
      help: 'Browser connections open on consoles',
      registers: [this.registry],
      async collect() {
        this.set((await sessions.list()).reduce((sum, s) => sum + s.viewers, 0));
      },
    });
  }
}
