// MemoryTokenStore with an injected clock (expiry) and fake timers (its sweep): no test waits.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { MemoryTokenStore } from '../../src/tokens/memory-store.js';
import { TokenLimitError } from '../../src/tokens/store.js';
import { ManualClock, useMockTimers } from '../helpers/clock.js';

const TTL_MS = 60_000;

function makeStore(maxPending = 5, sweepIntervalMs?: number) {
  const clock = new ManualClock(1_000_000);
  const expired: number[] = [];
  const store = new MemoryTokenStore<{ vmid: number }>({ maxPending, sweepIntervalMs, now: clock.now, onExpired: (n) => expired.push(n) });
  return { clock, expired, store };
}

describe('MemoryTokenStore', () => {
  useMockTimers(['setInterval']);

  it('redeems a token one millisecond before its expiry, and not at or after it', async () => {
    const { clock, expired, store } = makeStore();
    const [early, atExpiry, late] = [await store.create({ vmid: 1 }, TTL_MS), await store.create({ vmid: 2 }, TTL_MS), await store.create({ vmid: 3 }, TTL_MS)];
    assert.equal(early.expiresAt, clock.t + TTL_MS);
    clock.advance(TTL_MS - 1);
    assert.equal(await store.pendingCount(), 3);
    assert.deepEqual(await store.redeem(early.token), { grant: { vmid: 1 }, expiresAt: early.expiresAt });
    clock.advance(1);
    assert.equal(await store.pendingCount(), 0, 'at its expiry a token is no longer pending');
    assert.equal(await store.redeem(atExpiry.token), null);
    clock.advance(1);
    assert.equal(await store.redeem(late.token), null);
    assert.deepEqual(expired, [1, 1], 'each late redemption counts as one expiry');
    assert.equal(await store.redeem(late.token), null);
    assert.deepEqual(expired, [1, 1], 'a token is counted expired once');
  });

  it('redeems a token once, also when redemptions race', async () => {
    const { store } = makeStore();
    const { token } = await store.create({ vmid: 1 }, TTL_MS);
    const results = await Promise.all(Array.from({ length: 50 }, () => store.redeem(token)));
    assert.equal(results.filter((r) => r !== null).length, 1);
    assert.equal(await store.redeem(token), null);
    assert.equal(await store.redeem('unknown-token-unknown-token'), null);
  });

  it('revokes a pending token once; a revoked token is not redeemed, and frees its place', async () => {
    const { store } = makeStore(1);
    const { token } = await store.create({ vmid: 1 }, TTL_MS);
    assert.equal(await store.revoke(token), true);
    assert.equal(await store.revoke(token), false);
    assert.equal(await store.redeem(token), null);
    await store.create({ vmid: 2 }, TTL_MS);
    await assert.rejects(store.create({ vmid: 3 }, TTL_MS), TokenLimitError);
  });

  it('holds max_pending_tokens, and makes room by dropping expired ones first', async () => {
    const { clock, expired, store } = makeStore(2);
    await store.create({ vmid: 1 }, 1_000);
    await store.create({ vmid: 2 }, 2_000);
    await assert.rejects(store.create({ vmid: 3 }, 1_000), TokenLimitError);
    clock.advance(999);
    await assert.rejects(store.create({ vmid: 3 }, 1_000), TokenLimitError, 'none expired yet');
    assert.deepEqual(expired, []);
    clock.advance(1);
    await store.create({ vmid: 3 }, 1_000);
    assert.deepEqual(expired, [1], 'the first token made room at its expiry');
    await assert.rejects(store.create({ vmid: 4 }, 1_000), TokenLimitError);
  });

  it('puts a redeemed token back until its own expiry, not after', async () => {
    const { clock, expired, store } = makeStore();
    const { token } = await store.create({ vmid: 1 }, TTL_MS);
    const redeemed = (await store.redeem(token))!;
    clock.advance(TTL_MS - 1);
    await store.restore(token, redeemed);
    assert.deepEqual(await store.redeem(token), redeemed, 'restored with its original expiry');
    clock.advance(1);
    await store.restore(token, redeemed);
    assert.equal(await store.pendingCount(), 0);
    assert.equal(await store.redeem(token), null);
    assert.deepEqual(expired, [], 'not held at its expiry, so never counted as one that expired unused');
  });

  it('drops expired tokens on its sweep interval and reports how many', async () => {
    const { clock, expired, store } = makeStore(5, 10_000);
    await store.create({ vmid: 1 }, 5_000);
    await store.create({ vmid: 2 }, 5_000);
    await store.create({ vmid: 3 }, 60_000);
    clock.advance(5_000);
    mock.timers.tick(9_999);
    assert.deepEqual(expired, [], 'no sweep before its interval');
    mock.timers.tick(1);
    assert.deepEqual(expired, [2]);
    mock.timers.tick(10_000);
    assert.deepEqual(expired, [2], 'a sweep that drops nothing reports nothing');
    assert.equal(await store.pendingCount(), 1);
  });

  it('forgets every token once closed, and reports none expired after', async () => {
    const { clock, expired, store } = makeStore(5, 10_000);
    const { token } = await store.create({ vmid: 1 }, 5_000);
    await store.close();
    clock.advance(5_000);
    mock.timers.tick(10_000);
    assert.deepEqual(expired, []);
    assert.equal(await store.redeem(token), null);
  });
});
