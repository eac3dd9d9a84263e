// The Redis webhook queue's depth against a real redis-server when a key's list expires on its own
// TTL (renewed only by pushes to that key) with events still in it: those events leave depth, so
// the queue never reports events it no longer holds, nor stays full with them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { commonFields, eventParts } from '../../src/webhooks/event.js';
import { RedisWebhookStore } from '../../src/webhooks/redis-store.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const LEASE = 10_000;
const common = commonFields('abcdef…', 100, undefined);
const event = (n: number) => eventParts('session.redeemed', null, { n }, 0);
const nOf = (body: string) => (JSON.parse(body) as { data: { n: number } }).data.n;

describe('webhook queue depth in Redis when a list expires', () => {
  let server: TestRedis;
  let redis: Redis;
  let stores = 0;
  let now = Date.now();
  const make = (max = 100) => {
    const prefix = `d${stores++}:`;
    return { prefix, store: new RedisWebhookStore({ redis, prefix, maxQueued: max, now: () => now }) };
  };
  /** What the list's TTL does after three hours without a push to its key. */
  const expire = async (prefix: string, key: string) => {
    await redis.pexpire(`${prefix}{webhooks}:q:${key}`, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await redis.exists(`${prefix}{webhooks}:q:${key}`), 0);
  };
  const queue = async (store: RedisWebhookStore, key: string, n: number) => {
    now += 1;
    assert.equal(await store.sessionRedeemed(key, `s-${key}-${n}`, event(n), common, 60_000), 'queued');
  };

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('takes a lost list out of depth when a claim reaches its key, and gives out the next key', async () => {
    const { prefix, store } = make();
    for (const n of [1, 2, 3]) await queue(store, 'a', n);
    await queue(store, 'b', 4);
    await expire(prefix, 'a');
    const next = await store.claim(now, LEASE);
    assert.equal(next?.key, 'b');
    assert.equal(await store.depth(), 1);
    await store.done(next!, now);
    assert.equal(await store.depth(), 0);
  });

  it('is not left full by events it lost', async () => {
    const { prefix, store } = make(3);
    for (const n of [1, 2, 3]) await queue(store, 'a', n);
    await expire(prefix, 'a');
    assert.equal(await store.claim(now, LEASE), null);
    await queue(store, 'b', 4);
    assert.equal(await store.depth(), 1);
  });

  it('counts a list lost while its head was out, and gives its key a clean start', async () => {
    const { prefix, store } = make();
    for (const n of [1, 2]) await queue(store, 'a', n);
    const held = (await store.claim(now, LEASE))!;
    await store.retry(held, now, true);
    const again = (await store.claim(now, LEASE))!;
    await expire(prefix, 'a');
    await store.done(again, now);
    assert.equal(await store.depth(), 0);
    await queue(store, 'a', 3);
    const fresh = (await store.claim(now, LEASE))!;
    assert.equal(nOf(fresh.body), 3);
    assert.equal(fresh.failures, 0);
  });

  it('counts a lost list when its key is queued to again', async () => {
    const { prefix, store } = make();
    for (const n of [1, 2]) await queue(store, 'a', n);
    const held = (await store.claim(now, LEASE))!;
    await expire(prefix, 'a');
    await queue(store, 'a', 3);
    assert.equal(await store.depth(), 1);
    await store.done(held, now);
    assert.equal(await store.depth(), 1, "the lost head's lease does not take the new event");
    const fresh = (await store.claim(now, LEASE))!;
    assert.equal(nOf(fresh.body), 3, 'due at once, not at the end of the lost lease');
    await store.done(fresh, now);
    assert.equal(await store.depth(), 0);
  });
});
