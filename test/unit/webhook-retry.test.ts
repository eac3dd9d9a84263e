// The retry schedule of webhook deliveries and the receiver's Retry-After, judged on a clock the
// test drives: exponential backoff from the first wait, capped, given up an hour after the event.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { commonFields, eventParts } from '../../src/webhooks/event.js';
import { MemoryWebhookStore } from '../../src/webhooks/memory-store.js';
import { WebhookMetrics } from '../../src/webhooks/metrics.js';
import { backoffMs, DEFAULT_RETRY, nextAttemptAt, parseRetryAfter } from '../../src/webhooks/retry.js';
import { signatureHeader } from '../../src/webhooks/signature.js';
import { poll } from '../helpers/poll.js';

const HOUR = 3_600_000;

/** A deliverer to the local receiver `server`, on the test's clock. */
function delivererTo(server: Server, store: MemoryWebhookStore, now: () => number, concurrency: number, metrics: WebhookMetrics): WebhookDeliverer {
  return new WebhookDeliverer({
    store,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    secret: 's'.repeat(32),
    timeoutMs: 5_000,
    retry: DEFAULT_RETRY,
    concurrency,
    log: silentLogger,
    metrics,
    now,
  });
}

describe('webhook retries', () => {
  it('doubles the wait from one second, at most ten minutes apart', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 10].map((n) => backoffMs(DEFAULT_RETRY, n)), [1_000, 2_000, 4_000, 8_000, 16_000, 512_000]);
    assert.equal(backoffMs(DEFAULT_RETRY, 11), 600_000);
    assert.equal(backoffMs(DEFAULT_RETRY, 1_000), 600_000);
  });

  it('keeps trying for an hour after the event, the last try at the hour, then gives up', () => {
    const start = 1_000_000;
    let now = start;
    const attempts: number[] = [];
    for (let failures = 1; ; failures++) {
      const at = nextAttemptAt(DEFAULT_RETRY, failures, start, now, null);
      if (at === null) break;
      attempts.push(at - start);
      now = at;
    }
    assert.equal(attempts.at(-1), HOUR, 'the last attempt falls at the end of the hour');
    assert.ok(attempts.every((t) => t <= HOUR));
    assert.deepEqual(attempts.slice(0, 4), [1_000, 3_000, 7_000, 15_000]);
    assert.equal(attempts.length, 15);
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores anything else', () => {
    const now = Date.parse('2026-12-02T04:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(['7'], now), 7_000);
    assert.equal(parseRetryAfter('Wed, 02 Dec 2026 04:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 02 Dec 2026 03:00:00 GMT', now), 0, 'a date in the past: now');
    for (const bad of [undefined, '', '-1', '1.5', 'soon', '12abc', '2026-12-02']) assert.equal(parseRetryAfter(bad, now), null, String(bad));
  });

  it("waits as long as Retry-After says rather than the backoff, within the hour", () => {
    assert.equal(nextAttemptAt(DEFAULT_RETRY, 1, 0, 10_000, 120_000), 130_000);
    assert.equal(nextAttemptAt(DEFAULT_RETRY, 1, 0, 10_000, 5 * HOUR), HOUR, 'never past the window');
    assert.equal(nextAttemptAt(DEFAULT_RETRY, 1, 0, HOUR, 0), null);
  });

  it('never waits less than the backoff, whatever Retry-After says', () => {
    const now = Date.parse('2026-12-02T04:00:00Z');
    assert.equal(nextAttemptAt(DEFAULT_RETRY, 1, now, now, parseRetryAfter('0', now)), now + 1_000, 'Retry-After: 0');
    assert.equal(nextAttemptAt(DEFAULT_RETRY, 1, now, now, parseRetryAfter('Wed, 02 Dec 2026 03:00:00 GMT', now)), now + 1_000, 'a date in the past');
    assert.equal(nextAttemptAt(DEFAULT_RETRY, 4, now, now, 2_000), now + 8_000, 'shorter than the fourth backoff');
  });

  it('signs `<t>.<body>` with HMAC-SHA256 in the Stripe layout', () => {
    const body = '{"id":"evt_1"}';
    const mac = createHmac('sha256', 'k'.repeat(32)).update(`1700000000.${body}`).digest('hex');
    assert.equal(signatureHeader('k'.repeat(32), 1700000000, body), `t=1700000000,v1=${mac}`);
  });

  it('does not send again at once to a receiver answering 503 with Retry-After: 0', async () => {
    let clock = Date.parse('2026-12-02T04:00:00Z');
    let seen = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        seen++;
        response.writeHead(seen === 1 ? 503 : 200, seen === 1 ? { 'retry-after': '0' } : {}).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = new MemoryWebhookStore(100, () => clock);
    const deliverer = delivererTo(server, store, () => clock, 2, new WebhookMetrics(new Registry(), () => store.depth()));
    try {
      await store.tokenCreated('link', eventParts('token.created', null, {}, clock), commonFields('abc…', 100, undefined), clock + 60_000);
      deliverer.start();
      await poll(async () => seen, (n) => n === 1, 'the first attempt');
      // The clock stands still: an attempt due "now" would be claimed again and again.
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(seen, 1, 'not tried again before the backoff');
      clock += 1_000;
      await poll(async () => store.depth(), (n) => n === 0, 'the retry after the backoff');
      assert.equal(seen, 2);
    } finally {
      await deliverer.close();
      server.close();
    }
  });

  it('holds an event its receiver answered 503 with Retry-After until then, and gives up one an hour old', async () => {
    let clock = Date.parse('2026-12-02T04:00:00Z');
    const answers: Array<{ status: number; headers?: Record<string, string> }> = [{ status: 503, headers: { 'retry-after': '120' } }, { status: 500 }, { status: 500 }];
    const seen: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push(body);
        const answer = answers.shift() ?? { status: 200 };
        response.writeHead(answer.status, answer.headers ?? {}).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = new MemoryWebhookStore(100, () => clock);
    const registry = new Registry();
    const metrics = new WebhookMetrics(registry, () => store.depth());
    const deliverer = delivererTo(server, store, () => clock, 1, metrics);
    try {
      await store.tokenCreated('link', eventParts('token.created', null, {}, clock), commonFields('abc…', 100, undefined), clock + 60_000);
      deliverer.start();
      await poll(async () => seen.length, (n) => n === 1, 'the first attempt');
      // The backoff would be a second; the receiver asked for two minutes.
      clock += 119_000;
      deliverer.wake();
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(seen.length, 1, 'not tried before Retry-After');
      clock += 1_000;
      await poll(async () => seen.length, (n) => n === 2, 'the attempt at Retry-After');
      // Past the hour: one more attempt is due (the retry after the 500), and its failure is the last.
      clock += HOUR;
      await poll(async () => store.depth(), (n) => n === 0, 'the event given up');
      assert.equal(seen.length, 3);
      assert.match(await registry.metrics(), /proxmoxvnc_webhook_events_dropped_total\{reason="retries_exhausted"\} 1\n/);
      assert.match(await registry.metrics(), /proxmoxvnc_webhook_delivery_failures_total\{reason="http_5xx"\} 3\n/);
    } finally {
      await deliverer.close();
      server.close();
    }
  });
});
