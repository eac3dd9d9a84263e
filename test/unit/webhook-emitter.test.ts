// The events as the services tell them, queued in order: while Redis cannot take them they wait
// in the process, in order, and go in once it answers; a session's end waits for its viewers here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log.js';
import { StoreUnavailableError } from '../../src/redis/errors.js';
import type { SessionRecord } from '../../src/sessions/record.js';
import { WebhookEvents } from '../../src/webhooks/emitter.js';
import { MemoryWebhookStore } from '../../src/webhooks/memory-store.js';
import { WebhookMetrics } from '../../src/webhooks/metrics.js';
import type { WebhookStore } from '../../src/webhooks/store.js';
import { poll } from '../helpers/poll.js';

/** A memory queue that refuses every operation as an unreachable Redis does while `down`. */
function flakyStore(): { store: WebhookStore; setDown(down: boolean): void; inner: MemoryWebhookStore } {
  const inner = new MemoryWebhookStore(1000);
  let down = false;
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (down ? Promise.reject(new StoreUnavailableError('queueing an event')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { store, inner, setDown: (value) => (down = value) };
}

async function drained(store: MemoryWebhookStore): Promise<string[]> {
  const types: string[] = [];
  for (let d = await store.claim(Date.now(), 10_000); d; d = await store.claim(Date.now(), 10_000)) {
    types.push((JSON.parse(d.body) as { type: string }).type);
    await store.done(d, Date.now());
  }
  return types;
}

const session = { id: 'session-1', tokenPrefix: 'abcdef…', grant: { vmid: 100, tag: 't', console: 'novnc', viewOnly: false }, expiresAt: Date.now() + 60_000 } as unknown as SessionRecord;
const viewer = { id: 'v1', client: { address: '127.0.0.1' }, viewOnly: false, link: 'abcdef…', shared: false };

describe('webhook events', () => {
  it('holds events while Redis is away and queues them in their order once it is back', async () => {
    const { store, inner, setDown } = flakyStore();
    const registry = new Registry();
    const events = new WebhookEvents({ store, metrics: new WebhookMetrics(registry, () => inner.depth()), log: silentLogger, queued: () => {}, shared: false });
    try {
      events.tokenCreated('t'.repeat(43), session.grant, Date.now() + 60_000);
      await poll(() => inner.depth(), (n) => n === 1, 'token.created queued');
      setDown(true);
      events.sessionRedeemed('t'.repeat(43), session, { address: '127.0.0.1' });
      events.viewerConnected(session, viewer);
      await new Promise((resolve) => setTimeout(resolve, 50));
      setDown(false);
      // Queued behind the two still waiting, not before them.
      events.viewerDisconnected(session, viewer, { bytesToBrowser: 1, bytesToUpstream: 2, durationMs: 3, reason: 'browser_closed' });
      events.sessionEnded({ id: session.id, reason: 'ended by the backend' });
      await poll(() => inner.depth(), (n) => n === 5, 'every event queued', 5_000);
      assert.deepEqual(await drained(inner), ['token.created', 'session.redeemed', 'viewer.connected', 'viewer.disconnected', 'session.ended']);
      assert.doesNotMatch(await registry.metrics(), /proxmoxvnc_webhook_events_dropped_total\{/);
    } finally {
      events.close();
    }
  });
});
