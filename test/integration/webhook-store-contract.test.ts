// One contract for both webhook queues, in memory and in Redis (a real redis-server and a real
// Redis Cluster): one FIFO per order key with only its head out at a time, leases that lapse to
// another deliverer, a bound, and the events every replica hears (a session's end, a token's
// expiry) queued once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { startRedisBackend, type RedisBackend } from '../helpers/redis-backend.js';
import { commonFields, eventParts } from '../../src/webhooks/event.js';
import { MemoryWebhookStore } from '../../src/webhooks/memory-store.js';
import { RedisWebhookStore } from '../../src/webhooks/redis-store.js';
import type { WebhookStore } from '../../src/webhooks/store.js';

const LEASE = 10_000;
const common = commonFields('abcdef…', 100, 'customer-7');
const event = (type: Parameters<typeof eventParts>[0], sessionId: string | null = null) => eventParts(type, sessionId, { n: 1 }, 0);
const typeOf = (body: string) => (JSON.parse(body) as { type: string }).type;

function contract(name: string, make: (max: number, clock: () => number) => Promise<WebhookStore>): void {
  describe(`webhook store contract: ${name}`, () => {
    const now = 1_000_000;
    const clock = () => now;

    it('gives out one key\'s events one at a time, in order, and other keys meanwhile', async () => {
      const store = await make(100, clock);
      assert.equal(await store.tokenCreated('k1', event('token.created'), common, now + 60_000), 'queued');
      assert.equal(await store.tokenEnded('k1', event('token.revoked')), 'queued');
      assert.equal(await store.tokenCreated('k2', event('token.created'), common, now + 60_000), 'queued');
      assert.equal(await store.depth(), 3);
      const first = await store.claim(now, LEASE);
      const second = await store.claim(now, LEASE);
      assert.deepEqual([first?.key, second?.key].sort(), ['k1', 'k2']);
      assert.equal(await store.claim(now, LEASE), null, 'k1\'s second event waits for its first');
      const k1 = first!.key === 'k1' ? first! : second!;
      const body = JSON.parse(k1.body) as Record<string, unknown>;
      assert.equal(body.type, 'token.created');
      assert.equal(body.token_prefix, 'abcdef…');
      assert.equal(body.vmid, 100);
      assert.equal(body.tag, 'customer-7');
      await store.done(k1, now);
      const next = await store.claim(now, LEASE);
      assert.equal(next?.key, 'k1');
      assert.equal(typeOf(next!.body), 'token.revoked');
      assert.equal(await store.depth(), 2);
    });

    it('keeps a retried event at the head until it is due, counting its failures', async () => {
      const store = await make(100, clock);
      await store.tokenCreated('r', event('token.created'), common, now + 60_000);
      await store.tokenEnded('r', event('token.revoked'));
      const first = (await store.claim(now, LEASE))!;
      await store.retry(first, now + 5_000, true);
      assert.equal(await store.claim(now + 4_999, LEASE), null);
      const again = (await store.claim(now + 5_000, LEASE))!;
      assert.equal(again.body, first.body);
      assert.equal(again.failures, 1);
      assert.equal(again.enqueuedAt, first.enqueuedAt);
    });

    it('gives out an event queued after a look that found nothing due', async () => {
      const store = await make(100, clock);
      await store.tokenCreated('w', event('token.created'), common, now + 60_000);
      await store.retry((await store.claim(now, LEASE))!, now + 60_000, true);
      assert.equal(await store.claim(now, LEASE), null);
      await store.tokenCreated('w2', event('token.created'), common, now + 60_000);
      assert.equal((await store.claim(now, LEASE))?.key, 'w2');
      assert.deepEqual(await store.expiredTokens(now, 10), []);
      await store.tokenCreated('w3', event('token.created'), common, now);
      assert.deepEqual((await store.expiredTokens(now, 10)).map((t) => t.key), ['w3']);
    });

    it('hands a lapsed lease to the next deliverer and ignores the old holder', async () => {
      const store = await make(100, clock);
      await store.tokenCreated('l', event('token.created'), common, now + 60_000);
      const dead = (await store.claim(now, LEASE))!;
      assert.equal(await store.claim(now + LEASE - 1, LEASE), null);
      const taken = (await store.claim(now + LEASE, LEASE))!;
      assert.equal(taken.body, dead.body);
      await store.done(dead, now + LEASE);
      assert.equal(await store.depth(), 1, 'the old holder cannot remove it');
      await store.done(taken, now + LEASE);
      assert.equal(await store.depth(), 0);
    });

    it('refuses events past its bound', async () => {
      const store = await make(2, clock);
      assert.equal(await store.tokenCreated('a', event('token.created'), common, now + 60_000), 'queued');
      assert.equal(await store.tokenCreated('b', event('token.created'), common, now + 60_000), 'queued');
      assert.equal(await store.tokenCreated('c', event('token.created'), common, now + 60_000), 'full');
      assert.equal(await store.depth(), 2);
    });

    it('tells a token\'s end once, finds expired tokens, and moves a redeemed token\'s key to its session', async () => {
      const store = await make(100, clock);
      await store.tokenCreated('t1', event('token.created'), common, now + 1_000);
      await store.tokenCreated('t2', event('token.created'), common, now + 1_000);
      assert.deepEqual((await store.expiredTokens(now + 1_000, 10)).map((t) => t.key).sort(), ['t1', 't2']);
      assert.equal(await store.tokenEnded('t1', event('token.expired')), 'queued');
      assert.equal(await store.tokenEnded('t1', event('token.expired')), 'none', 'a second replica finds it told');
      assert.equal(await store.sessionRedeemed('t2', 's2', event('session.redeemed', 's2'), commonFields('other…', 1, undefined), 60_000), 'queued');
      assert.equal(await store.tokenEnded('t2', event('token.expired')), 'none', 'a redeemed token does not expire');
      assert.deepEqual(await store.expiredTokens(now + 1_000, 10), []);
      assert.equal(await store.sessionEvent('s2', event('viewer.connected', 's2'), commonFields('other…', 1, undefined), false), 'queued');
      assert.equal(await store.sessionEvent('s2', event('session.ended', 's2'), commonFields('', 0, undefined), true), 'queued');
      assert.equal(await store.sessionEvent('s2', event('session.ended', 's2'), commonFields('', 0, undefined), true), 'none', 'the end is told once');
      const types: string[] = [];
      for (let d = await store.claim(now, LEASE); d; d = await store.claim(now, LEASE)) {
        if (d.key === 't2') {
          types.push(typeOf(d.body));
          assert.equal((JSON.parse(d.body) as { tag: string }).tag, 'customer-7', 'the token\'s fields, kept from its creation');
        }
        await store.done(d, now);
      }
      assert.deepEqual(types, ['token.created', 'session.redeemed', 'viewer.connected', 'session.ended']);
    });
  });
}

contract('memory', async (max, clock) => new MemoryWebhookStore(max, clock));

/** Against a real redis-server and a real 3-master Redis Cluster: every key of the queue is under one hash tag. */
for (const kind of ['standalone', 'cluster'] as const) {
  describe(`webhook store in Redis (${kind})`, () => {
    let backend: RedisBackend;
    let client: Redis | Cluster;
    let prefixes = 0;
    before(async () => {
      backend = await startRedisBackend(kind);
      client = await backend.connect();
    });
    after(async () => {
      await backend?.stop();
    });
    contract(`redis ${kind}`, async (max, clock) => new RedisWebhookStore({ redis: client, prefix: `t${prefixes++}:`, maxQueued: max, now: clock }));

    it('gives every key it writes a TTL', async () => {
      const store = new RedisWebhookStore({ redis: client, prefix: 'ttl:', maxQueued: 100 });
      await store.tokenCreated('k', event('token.created'), common, Date.now() + 60_000);
      await store.tokenCreated('k2', event('token.created'), common, Date.now() + 60_000);
      await store.sessionRedeemed('k2', 's', event('session.redeemed', 's'), common, 60_000);
      const claimed = (await store.claim(Date.now(), LEASE))!;
      await store.retry(claimed, Date.now(), true);
      const keys: string[] = [];
      await backend.eachKey(async (node, key) => {
        if (!key.startsWith('ttl:')) return;
        keys.push(key);
        assert.ok((await node.pttl(key)) > 0, `${key} has a TTL`);
      });
      assert.ok(keys.length >= 6, keys.join(' '));
    });
  });
}
