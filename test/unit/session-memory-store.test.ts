// MemorySessionStore on an injected clock: its limits and timings, each at the millisecond it
// applies. (test/integration/session-store-contract.test.ts holds it to what Redis does too.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionLimits } from '../../src/sessions/limits.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import { SessionLimitError, ViewerLimitError, type SessionEnded } from '../../src/sessions/store.js';
import { ManualClock } from '../helpers/clock.js';
import { consoleGrant } from '../helpers/grants.js';

const LIMITS: SessionLimits = { maxSessions: 2, maxViewersPerSession: 2, reconnectGraceMs: 60_000, idleTimeoutMs: 600_000 };

function makeStore(limits = LIMITS) {
  const clock = new ManualClock(1_000_000);
  const store = new MemorySessionStore(limits, clock.now);
  const ended: SessionEnded[] = [];
  store.onEnded((e) => ended.push(e));
  return { clock, store, ended };
}

describe('MemorySessionStore', () => {
  it('holds max_sessions; an ended session frees its place', async () => {
    const { store } = makeStore();
    const first = (await store.create(consoleGrant(), 'p')).record;
    await store.create(consoleGrant(), 'p');
    await assert.rejects(store.create(consoleGrant(), 'p'), SessionLimitError);
    await store.end(first.id, 'test');
    await store.create(consoleGrant(), 'p');
    assert.equal(await store.createdTotal(), 3, 'refused creations are not counted');
  });

  it('holds the viewer limit per session; a viewer who left frees a place', async () => {
    const { store } = makeStore();
    const a = (await store.create(consoleGrant(), 'p')).record;
    const b = (await store.create(consoleGrant(), 'p')).record;
    await store.join(a.id);
    await store.join(a.id);
    await assert.rejects(store.join(a.id), ViewerLimitError);
    assert.ok(await store.join(b.id), "another session's viewers are counted apart");
    await store.leave(a.id);
    assert.deepEqual((await store.join(a.id))?.viewers, { local: 2 });
  });

  it('notes the first connection once, and when the last viewer left', async () => {
    const { clock, store } = makeStore();
    const { record } = await store.create(consoleGrant(), 'p');
    assert.equal(record.unwatchedSince, clock.t, 'unwatched from its creation');
    clock.advance(1_000);
    const firstJoin = clock.t;
    const joined = (await store.join(record.id))!;
    assert.equal(joined.connectedAt, firstJoin);
    assert.equal(joined.unwatchedSince, undefined);
    clock.advance(1_000);
    await store.join(record.id);
    await store.leave(record.id);
    assert.equal((await store.get(record.id))!.unwatchedSince, undefined, 'one viewer still watches');
    clock.advance(1_000);
    await store.leave(record.id);
    const left = (await store.get(record.id))!;
    assert.equal(left.unwatchedSince, clock.t);
    assert.equal(left.connectedAt, firstJoin, 'the first connection is kept');
    await store.leave(record.id);
    assert.deepEqual((await store.get(record.id))!.viewers, {}, 'a leave without a viewer counts nothing');
  });

  it('starts the reconnect grace when the last viewer leaves, not at creation', async () => {
    const { clock, store, ended } = makeStore();
    const { record } = await store.create(consoleGrant(), 'p');
    await store.join(record.id);
    clock.advance(LIMITS.reconnectGraceMs * 3);
    await store.leave(record.id);
    clock.advance(LIMITS.reconnectGraceMs - 1);
    assert.equal(await store.endDue(), 0);
    clock.advance(1);
    assert.equal(await store.endDue(), 1);
    assert.deepEqual(ended, [{ id: record.id, reason: 'no viewer reconnected in time' }]);
  });

  it('ends an idle session at idle_timeout after the latest input, which a late batch cannot move back', async () => {
    const { clock, store, ended } = makeStore();
    const { record } = await store.create(consoleGrant(), 'p');
    await store.join(record.id);
    clock.advance(10_000);
    const latest = clock.t;
    await store.recordActivity(record.id, { lastInputAt: latest, bytesToBrowser: 5, bytesToUpstream: 1 });
    await store.recordActivity(record.id, { lastInputAt: latest - 5_000, bytesToBrowser: 5, bytesToUpstream: 1 });
    await store.recordActivity(record.id, { bytesToBrowser: 1, bytesToUpstream: 0 });
    const busy = (await store.get(record.id))!;
    assert.deepEqual([busy.lastInputAt, busy.bytesToBrowser, busy.bytesToUpstream], [latest, 11, 2], 'bytes alone are no input');
    clock.t = latest + LIMITS.idleTimeoutMs - 1;
    assert.equal(await store.endDue(), 0);
    clock.advance(1);
    assert.equal(await store.endDue(), 1);
    assert.deepEqual(ended, [{ id: record.id, reason: 'no input within idle_timeout' }]);
  });

  it('ends a session at the end of its own lifetime', async () => {
    const { clock, store, ended } = makeStore({ ...LIMITS, idleTimeoutMs: 0 });
    const { record } = await store.create(consoleGrant({ maxDurationMs: 5_000 }), 'p');
    await store.join(record.id);
    assert.equal(record.expiresAt, clock.t + 5_000);
    clock.advance(4_999);
    assert.equal(await store.endDue(), 0);
    clock.advance(1);
    assert.equal(await store.endDue(), 1);
    assert.deepEqual(ended, [{ id: record.id, reason: 'session lifetime reached' }]);
    assert.equal(await store.endDue(), 0, 'an ended session is ended once');
  });

  it('hands out copies: changing one changes nothing in the store', async () => {
    const { store } = makeStore();
    const { record } = await store.create(consoleGrant(), 'p');
    const joined = (await store.join(record.id))!;
    (joined.viewers as Record<string, number>).local = 99;
    (joined as { bytesToBrowser: number }).bytesToBrowser = 99;
    const read = (await store.get(record.id))!;
    assert.deepEqual([read.viewers, read.bytesToBrowser], [{ local: 1 }, 0]);
  });
});
