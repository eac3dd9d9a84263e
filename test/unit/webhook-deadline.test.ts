// One deadline for a whole delivery attempt: a receiver that answers 200 and then trickles its
// body, a byte at a time well within any idle timeout, is cut off at webhook_timeout and the
// attempt counts as a timeout, so it never outlives its lease (and another worker never sends the
// same event beside it).
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { commonFields, eventParts } from '../../src/webhooks/event.js';
import { MemoryWebhookStore } from '../../src/webhooks/memory-store.js';
import { WebhookMetrics } from '../../src/webhooks/metrics.js';
import { poll } from '../helpers/poll.js';

const TIMEOUT_MS = 1_000;

describe('webhook attempt deadline', () => {
  it('cuts a 200 whose body trickles at webhook_timeout and counts it as a timeout', async () => {
    const trickling = new Set<ServerResponse>();
    const cut: number[] = [];
    let sentAt = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        sentAt = Date.now();
        response.writeHead(200, { 'content-type': 'text/plain' });
        trickling.add(response);
        const timer = setInterval(() => response.write('x'), 100);
        response.on('close', () => {
          clearInterval(timer);
          trickling.delete(response);
          cut.push(Date.now() - sentAt);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = new MemoryWebhookStore(100);
    const registry = new Registry();
    const deliverer = new WebhookDeliverer({
      store,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      secret: 's'.repeat(32),
      timeoutMs: TIMEOUT_MS,
      // One attempt in this test: the retry is a minute away.
      retry: { initialMs: 60_000, maxDelayMs: 60_000, windowMs: 3_600_000 },
      concurrency: 1,
      log: silentLogger,
      metrics: new WebhookMetrics(registry, () => store.depth()),
    });
    try {
      await store.tokenCreated('link', eventParts('token.created', null, {}, Date.now()), commonFields('abc…', 100, undefined), Date.now() + 60_000);
      deliverer.start();
      await poll(async () => cut.length, (n) => n === 1, 'the trickling answer cut off', 3 * TIMEOUT_MS);
      assert.ok(cut[0]! < TIMEOUT_MS + 500, `cut ${cut[0]} ms after the answer began, within webhook_timeout`);
      const metrics = await poll(async () => registry.metrics(), (text) => /delivery_failures_total\{reason="timeout"\} 1\n/.test(text), 'the attempt counted as a timeout', 2_000);
      assert.match(metrics, /proxmoxvnc_webhook_deliveries_total 0\n/, 'a cut-off answer is no delivery');
      assert.equal(await store.depth(), 1, 'the event stays queued for its retry');
    } finally {
      await deliverer.close();
      for (const response of trickling) response.destroy();
      server.close();
    }
  });
});
