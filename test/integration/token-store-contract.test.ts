// One contract for both token stores: memory and Redis (standalone and Cluster), injected clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { StoreUnavailableError } from '../../src/redis/errors.js';
import { SecretBox } from '../../src/redis/secret-box.js';
import { MemoryTokenStore } from '../../src/tokens/memory-store.js';
import { RedisTokenStore } from '../../src/tokens/redis-store.js';
import { TokenLimitError, type TokenStore } from '../../src/tokens/store.js';
import { poll } from '../helpers/poll.js';
import { startRedisBackend, type RedisBackend } from '../helpers/redis-backend.js';

interface Grant {
  vmid: number;
  password?: string;
  ticket?: string;
}

interface StoreOptions {
  maxPending: number;
  now: () => number;
  onExpired: (count: number) => void;
}

type MakeStore = (opts: StoreOptions) => Promise<TokenStore<Grant>>;

function tokenStoreContract(name: string, setup: () => { make: MakeStore; reset(): Promise<void> }) {
  describe(`TokenStore contract: ${name}`, () => {
    let t: number;
    let expired: number;
    let make: (maxPending?: number) => Promise<TokenStore<Grant>>;
    beforeEach(async () => {
      const s = setup();
      await s.reset();
      t = Date.now();
      expired = 0;
      make = (maxPending = 5) => s.make({ maxPending, now: () => t, onExpired: (n) => (expired += n) });
    });

    it('redeems a token once, and nothing for an unknown one', async () => {
      const store = await make();
      const { token, expiresAt } = await store.create({ vmid: 100 }, 60_000);
      assert.ok(token.length >= 43, 'at least 256 bits, base64url');
      assert.equal(expiresAt, t + 60_000);
      assert.equal(await store.pendingCount(), 1);
      assert.deepEqual(await store.redeem(token), { grant: { vmid: 100 }, expiresAt });
      assert.equal(await store.redeem(token), null);
      assert.equal(await store.redeem(randomBytes(32).toString('base64url')), null);
      assert.equal(await store.pendingCount(), 0);
    });

    it('lets exactly one of 200 concurrent redemptions win, spread over two stores', async () => {
      const [a, b] = [await make(), await make()];
      const { token } = await a.create({ vmid: 101 }, 60_000);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).redeem(token)));
      assert.equal(results.filter((r) => r !== null).length, 1);
    });

    it('expires tokens by the clock, counting them, and they no longer count as pending', async () => {
      const store = await make(2);
      const first = await store.create({ vmid: 1 }, 1_000);
      const second = await store.create({ vmid: 2 }, 1_000);
      await assert.rejects(store.create({ vmid: 3 }, 1_000), TokenLimitError);
      t += 999;
      assert.equal(await store.pendingCount(), 2, 'one millisecond before their expiry');
      const early = (await store.redeem(second.token))!;
      await store.restore(second.token, early);
      t += 1;
      assert.equal(await store.redeem(first.token), null);
      assert.equal(expired, 1, 'a redemption that comes too late counts as an expiry');
      assert.equal(await store.pendingCount(), 0);
      // Room again for maxPending fresh tokens; by then each expired token was counted exactly once.
      await store.create({ vmid: 4 }, 1_000);
      await store.create({ vmid: 5 }, 1_000);
      assert.equal(await store.pendingCount(), 2);
      await assert.rejects(store.create({ vmid: 6 }, 1_000), TokenLimitError);
      assert.equal(expired, 2);
    });

    it('puts a redeemed token back until its own expiry, once', async () => {
      const store = await make();
      const { token } = await store.create({ vmid: 6 }, 1_000);
      const redeemed = (await store.redeem(token))!;
      await store.restore(token, redeemed);
      assert.deepEqual(await store.redeem(token), redeemed, 'the same link works again');
      t += 1_000;
      await store.restore(token, redeemed);
      assert.equal(await store.redeem(token), null, 'not past its expiry');
    });

    it('revokes a pending token', async () => {
      const store = await make();
      const { token } = await store.create({ vmid: 5 }, 60_000);
      assert.equal(await store.revoke(token), true);
      assert.equal(await store.revoke(token), false);
      assert.equal(await store.redeem(token), null);
    });

    it('does not revoke an expired token the sweep has not dropped yet: it was no longer pending', async () => {
      const store = await make();
      const { token } = await store.create({ vmid: 7 }, 1_000);
      t += 1_000;
      assert.equal(await store.revoke(token), false);
      assert.equal(expired, 1, 'counted as the expiry it was');
    });
  });
}

tokenStoreContract('memory', () => ({ make: async (opts) => new MemoryTokenStore<Grant>(opts), reset: async () => {} }));

for (const kind of ['standalone', 'cluster'] as const) {
  describe(`Redis token store (${kind})`, () => {
    let backend: RedisBackend;
    const box = new SecretBox(randomBytes(32));
    before(async () => {
      backend = await startRedisBackend(kind);
    });
    after(async () => {
      await backend?.stop();
    });

    tokenStoreContract(`redis ${kind}`, () => ({
      make: async (opts) => new RedisTokenStore<Grant>({ redis: await backend.connect(), box, prefix: 'pvnc-test:', ...opts }),
      reset: () => backend.flushAll(),
    }));

    it('keeps nothing in Redis that opens a link or Proxmox, and every key has a TTL', async () => {
      await backend.flushAll();
      const store = new RedisTokenStore<Grant>({ redis: await backend.connect(), box, prefix: 'pvnc-test:', maxPending: 10 });
      const ticket = 'PVE:user@pve:ABC::sig';
      const { token } = await store.create({ vmid: 100, password: 'pw-SECRET-123', ticket }, 60_000);
      let dump = '';
      let keys = 0;
      await backend.eachKey(async (node, key) => {
        keys++;
        // DUMP may LZF-compress a long value, which could hide a plaintext secret: read it as data too.
        const type = await node.type(key);
        const value = type === 'string' ? await node.get(key) : type === 'zset' ? (await node.zrange(key, 0, -1, 'WITHSCORES')).join(' ') : JSON.stringify(await node.hgetall(key));
        dump += `${key}\n${value}\n${(await node.dumpBuffer(key))?.toString('latin1') ?? ''}\n`;
        assert.ok((await node.pttl(key)) > 0, `${key} has a TTL`);
      });
      assert.equal(keys, 2, 'one token key and the index');
      for (const secret of [token, 'pw-SECRET-123', ticket]) assert.ok(!dump.includes(secret), `${secret} is in the Redis dump`);
      // Another replica with another key cannot open it, and says so with null, not a throw.
      const stranger = new RedisTokenStore<Grant>({ redis: await backend.connect(), box: new SecretBox(randomBytes(32)), prefix: 'pvnc-test:', maxPending: 10 });
      assert.equal(await stranger.redeem(token), null);
    });

    if (kind === 'standalone') {
      it('answers StoreUnavailableError while Redis is down, and works again once it is back', async () => {
        const store = new RedisTokenStore<Grant>({ redis: await backend.connect(), box, prefix: 'pvnc-test:', maxPending: 10 });
        await backend.server!.kill();
        const started = Date.now();
        await assert.rejects(store.create({ vmid: 1 }, 60_000), StoreUnavailableError);
        await assert.rejects(store.redeem(randomBytes(32).toString('base64url')), StoreUnavailableError);
        assert.ok(Date.now() - started < 1_000, `an outage is reported at once, not after ${Date.now() - started} ms`);
        await backend.server!.restart();
        const created = await poll(() => store.create({ vmid: 2 }, 60_000).catch(() => null), (r) => r !== null, 'a token after Redis came back', 10_000);
        assert.deepEqual((await store.redeem(created!.token))?.grant, { vmid: 2 });
      });
    }
  });
}
