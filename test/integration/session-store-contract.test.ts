// One contract for every SessionStore: the memory store and the Redis store (standalone and
// Cluster) must behave alike, with an injected clock so limits are tested without sleeping.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SecretBox } from '../../src/redis/secret-box.js';
import type { SessionLimits } from '../../src/sessions/limits.js';
import { MemorySessionStore } from '../../src/sessions/memory-store.js';
import { sessionState } from '../../src/sessions/record.js';
import { RedisSessionStore } from '../../src/sessions/redis-store.js';
import { SessionLimitError, ViewerLimitError, type SessionEnded, type SessionStore } from '../../src/sessions/store.js';
import { ManualClock } from '../helpers/clock.js';
import { consoleGrant as grant, TEST_TICKET } from '../helpers/grants.js';
import { poll } from '../helpers/poll.js';
import { startRedisBackend, type RedisBackend } from '../helpers/redis-backend.js';

const LIMITS: SessionLimits = { maxSessions: 3, maxViewersPerSession: 2, reconnectGraceMs: 60_000, idleTimeoutMs: 600_000 };
const PASSWORD = 'pw-SECRET-4711';

interface Harness {
  clock: ManualClock;
  /** A store as one replica sees it. */
  replica(limits?: SessionLimits): Promise<SessionStore>;
  reset(): Promise<void>;
}

function sessionStoreContract(name: string, harness: () => Harness, { replicas }: { replicas: boolean }) {
  describe(`SessionStore contract: ${name}`, () => {
    let h: Harness;
    let store: SessionStore;
    beforeEach(async () => {
      h = harness();
      await h.reset();
      store = await h.replica();
    });

    it('creates sessions that only their cookie secret opens', async () => {
      const { record, cookieSecret } = await store.create(grant(), 'abcdef…');
      assert.equal(sessionState(record), 'created');
      assert.equal((await store.authenticate(record.id, cookieSecret))?.id, record.id);
      assert.equal(await store.authenticate(record.id, `${cookieSecret}x`), null);
      assert.equal(await store.authenticate(record.id, undefined), null);
      assert.equal(await store.authenticate('A'.repeat(22), cookieSecret), null);
      const read = await store.get(record.id);
      assert.deepEqual(read?.grant, grant());
      assert.equal(read?.expiresAt, h.clock.t + 3_600_000);
    });

    it('holds max_sessions', async () => {
      for (let i = 0; i < LIMITS.maxSessions; i++) await store.create(grant(), 'p');
      await assert.rejects(store.create(grant(), 'p'), SessionLimitError);
      const [first] = await store.live();
      await store.end(first!.id, 'test');
      await store.create(grant(), 'p');
      assert.equal(await store.createdTotal(), LIMITS.maxSessions + 1);
    });

    it('counts viewers up to the limit and moves through created, active and disconnected', async () => {
      const { record } = await store.create(grant(), 'p');
      assert.equal(sessionState((await store.join(record.id))!), 'active');
      await store.join(record.id);
      await assert.rejects(store.join(record.id), ViewerLimitError);
      await store.leave(record.id);
      assert.equal(sessionState((await store.get(record.id))!), 'active');
      await store.leave(record.id);
      const after = (await store.get(record.id))!;
      assert.equal(sessionState(after), 'disconnected');
      assert.equal(after.connectedAt, h.clock.t);
      assert.equal(await store.join('A'.repeat(22)), null, 'an unknown session cannot be joined');
      assert.deepEqual((await store.list()).map((s) => [s.id, s.state, s.viewers]), [[record.id, 'disconnected', 0]]);
    });

    it('ends a session without viewers after the reconnect grace, not before, and never a watched one', async () => {
      const ended: SessionEnded[] = [];
      store.onEnded((e) => ended.push(e));
      const unwatched = (await store.create(grant(), 'p')).record;
      const watched = (await store.create(grant(), 'p')).record;
      await store.join(watched.id);
      h.clock.advance(LIMITS.reconnectGraceMs - 1);
      assert.equal(await store.endDue(), 0);
      h.clock.advance(1);
      assert.equal(await store.endDue(), 1);
      assert.deepEqual(ended, [{ id: unwatched.id, reason: 'no viewer reconnected in time' }]);
      assert.equal(await store.get(unwatched.id), null);
      assert.ok(await store.get(watched.id), 'the watched session carries on');
      await store.leave(watched.id);
      h.clock.advance(LIMITS.reconnectGraceMs);
      assert.equal(await store.endDue(), 1);
    });

    it('ends a session at the end of its lifetime even while watched, and an idle one', async () => {
      const short = (await store.create(grant({ maxDurationMs: 1_000 }), 'p')).record;
      await store.join(short.id);
      const idle = (await store.create(grant(), 'p')).record;
      await store.join(idle.id);
      const busy = (await store.create(grant(), 'p')).record;
      await store.join(busy.id);
      h.clock.advance(999);
      assert.equal(await store.endDue(), 0, 'one millisecond before its end');
      h.clock.advance(1);
      assert.equal(await store.endDue(), 1);
      assert.equal(await store.get(short.id), null);
      h.clock.advance(LIMITS.idleTimeoutMs - 2_000);
      await store.recordActivity(busy.id, { lastInputAt: h.clock.t, bytesToBrowser: 10, bytesToUpstream: 3 });
      h.clock.advance(999);
      assert.equal(await store.endDue(), 0, 'one millisecond before the idle end');
      h.clock.advance(1);
      const ended: SessionEnded[] = [];
      store.onEnded((e) => ended.push(e));
      await store.endDue();
      assert.deepEqual(ended, [{ id: idle.id, reason: 'no input within idle_timeout' }]);
      const kept = (await store.get(busy.id))!;
      assert.equal(kept.bytesToBrowser, 10);
      assert.equal(kept.bytesToUpstream, 3);
    });

    it('changes a grant only at the version it was read at', async () => {
      const { record } = await store.create(grant(), 'p');
      assert.equal(await store.updateGrant(record.id, record.grantVersion, grant({ node: 'pve2' })), true);
      assert.equal(await store.updateGrant(record.id, record.grantVersion, grant({ node: 'pve3' })), false, 'a stale version loses');
      const now = (await store.get(record.id))!;
      assert.equal(now.grant.node, 'pve2');
      assert.equal(now.grantVersion, record.grantVersion + 1);
      await store.setLastError(record.id, 'guest_not_running');
      assert.equal((await store.get(record.id))!.lastError, 'guest_not_running');
    });

    it('ends a session once, for whoever asks first, and tells its listeners', async () => {
      const ended: SessionEnded[] = [];
      store.onEnded((e) => ended.push(e));
      const { record } = await store.create(grant(), 'p');
      const results = await Promise.all([store.end(record.id, 'ended by the backend'), store.end(record.id, 'again')]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.deepEqual(ended, [{ id: record.id, reason: 'ended by the backend' }]);
      await store.recordActivity(record.id, { bytesToBrowser: 1, bytesToUpstream: 1 });
      await store.leave(record.id);
      assert.equal(await store.get(record.id), null, 'nothing brings an ended session back');
    });

    it("gives a shared link's browser a cookie of its own, view-only when asked or when the session is, counted per link", async () => {
      const { record, cookieSecret } = await store.create(grant(), 'own…');
      const watcher = (await store.addBrowser(record.id, { link: 'watch…', viewOnly: true }))!;
      const helper = (await store.addBrowser(record.id, { link: 'help…', viewOnly: false }))!;
      assert.ok(watcher && helper && watcher !== helper && watcher !== cookieSecret);
      assert.deepEqual((await store.authenticate(record.id, cookieSecret))?.access, { link: 'own…', viewOnly: false, shared: false });
      const watching = (await store.authenticate(record.id, watcher))!;
      assert.deepEqual(watching.access, { link: 'watch…', viewOnly: true, shared: true });
      assert.deepEqual((await store.authenticate(record.id, helper))?.access, { link: 'help…', viewOnly: false, shared: true });
      assert.equal(await store.authenticate(record.id, `${watcher}x`), null);
      const other = (await store.create(grant(), 'other…')).record;
      assert.equal(await store.authenticate(other.id, watcher), null, "a shared link's cookie opens only its own session");

      await store.join(record.id, watching.access);
      await store.join(record.id);
      await assert.rejects(store.join(record.id, { link: 'help…', viewOnly: false, shared: true }), ViewerLimitError, 'shared viewers count in the limit');
      const summary = (await store.list()).find((s) => s.id === record.id)!;
      assert.equal(summary.viewers, 2);
      assert.deepEqual(summary.viewersByLink, [
        { link: 'own…', viewOnly: false, shared: false, viewers: 1 },
        { link: 'watch…', viewOnly: true, shared: true, viewers: 1 },
      ]);
      await store.leave(record.id, watching.access);
      assert.deepEqual((await store.list()).find((s) => s.id === record.id)!.viewersByLink, [{ link: 'own…', viewOnly: false, shared: false, viewers: 1 }]);

      const readOnly = (await store.create(grant({ viewOnly: true }), 'ro…')).record;
      const asked = (await store.addBrowser(readOnly.id, { link: 'full…', viewOnly: false }))!;
      assert.equal((await store.authenticate(readOnly.id, asked))?.access.viewOnly, true, 'a view-only session gives only view-only access');

      await store.end(record.id, 'ended by the backend');
      assert.equal(await store.authenticate(record.id, watcher), null, 'the cookie ends with its session');
      assert.equal(await store.addBrowser(record.id, { link: 'late…', viewOnly: true }), null, 'an ended session takes no browser');
    });

    if (!replicas) return;

    it("counts a shared link's viewers on every replica and forgets a dead replica's", async () => {
      const other = await h.replica(LIMITS);
      const { record } = await store.create(grant(), 'own…');
      const secret = (await other.addBrowser(record.id, { link: 'watch…', viewOnly: true }))!;
      const { access } = (await store.authenticate(record.id, secret))!;
      await other.join(record.id);
      await store.join(record.id, access);
      const seen = (await other.list())[0]!;
      assert.deepEqual(seen.viewersByLink.map((v) => [v.link, v.viewers]), [['own…', 1], ['watch…', 1]]);
      await other.close();
      await poll(async () => (await store.list())[0]!.viewersByLink.map((v) => v.link), (links) => links.join() === 'watch…', "the dead replica's viewer gone", 15_000);
    });

    it('holds the viewer limit across replicas, and a viewer on one keeps the session alive for all', async () => {
      const other = await h.replica();
      const { record } = await store.create(grant(), 'p');
      await store.join(record.id);
      await other.join(record.id);
      await assert.rejects(store.join(record.id), ViewerLimitError);
      await assert.rejects(other.join(record.id), ViewerLimitError);
      const summary = (await other.list())[0]!;
      assert.equal(summary.viewers, 2);
      assert.deepEqual(summary.replicas.sort(), [store.replicaId, other.replicaId].sort());
      await store.leave(record.id);
      h.clock.advance(LIMITS.reconnectGraceMs * 2);
      assert.equal(await store.endDue(), 0, "this replica's sweep leaves a session watched on another alone");
      assert.equal(sessionState((await store.get(record.id))!), 'active');
    });

    it("tells every replica of an end, whichever ended it", async () => {
      const other = await h.replica();
      const heard: SessionEnded[] = [];
      other.onEnded((e) => heard.push(e));
      const { record } = await store.create(grant(), 'p');
      await store.end(record.id, 'ended by the backend');
      await poll(async () => heard.length, (n) => n > 0, 'the end on the other replica', 5_000);
      assert.deepEqual(heard, [{ id: record.id, reason: 'ended by the backend' }]);
    });

    it("no longer counts the viewers of a replica that stopped renewing its lease: the grace starts", async () => {
      const doomed = await h.replica();
      const { record } = await store.create(grant(), 'p');
      await doomed.join(record.id);
      await doomed.join(record.id);
      // Replica leases run on the process's real clock, not the injected one (they say whether a
      // process is alive): closing drops the lease at once, so nothing here waits for it to lapse.
      await doomed.close();
      // With its lease gone its viewers count for nothing: a new one may join on a live replica.
      await poll(async () => (await store.join(record.id).then(() => true, () => false)), Boolean, 'a join after the replica died', 15_000);
      await store.leave(record.id);
      h.clock.advance(LIMITS.reconnectGraceMs + 1);
      await store.endDue();
      assert.equal(await store.get(record.id), null);
    });
  });
}

sessionStoreContract('memory', () => {
  const clock = new ManualClock();
  return { clock, replica: async (limits = LIMITS) => new MemorySessionStore(limits, clock.now), reset: async () => {} };
}, { replicas: false });

/** The Redis store against a real server or a real 3-master Cluster, two replicas on each. */
for (const kind of ['standalone', 'cluster'] as const) {
  describe(`Redis session store (${kind})`, () => {
    let backend: RedisBackend;
    const stores: SessionStore[] = [];
    const box = new SecretBox(randomBytes(32));
    const replica = async (limits: SessionLimits, now?: () => number) => {
      const store = new RedisSessionStore({ redis: await backend.connect(), subscriber: await backend.connect(true), box, prefix: 'pvnc-test:', limits, now });
      stores.push(store);
      // A replica hears others' ends once subscribed; before that an end would pass it by.
      await store.subscribed;
      return store;
    };

    before(async () => {
      backend = await startRedisBackend(kind);
    });
    after(async () => {
      for (const store of stores) await store.close();
      await backend?.stop();
    });

    sessionStoreContract(`redis ${kind}`, () => {
      const clock = new ManualClock();
      return { clock, replica: (limits = LIMITS) => replica(limits, clock.now), reset: () => backend.flushAll() };
    }, { replicas: true });

    it('keeps nothing in Redis that opens a console: no password, ticket or cookie secret, and every key has a TTL', async () => {
      await backend.flushAll();
      const store = await replica(LIMITS);
      const { record, cookieSecret } = await store.create(grant({ credentials: { kind: 'password', username: 'vncuser@pve', password: PASSWORD } }), 'p');
      const withTicket = await store.create(grant(), 'p');
      await store.join(record.id);
      const shared = (await store.addBrowser(record.id, { link: 'watch…', viewOnly: true }))!;
      await store.join(record.id, (await store.authenticate(record.id, shared))!.access);
      let dump = '';
      let keys = 0;
      await backend.eachKey(async (node, key) => {
        keys++;
        dump += key + ((await node.dumpBuffer(key))?.toString('latin1') ?? '');
        assert.ok((await node.pttl(key)) > 0, `${key} has a TTL`);
      });
      assert.ok(keys >= 4, `${keys} keys`);
      for (const secret of [PASSWORD, TEST_TICKET, 'SIGNATURE-secret-part', cookieSecret, withTicket.cookieSecret, shared]) {
        assert.ok(!dump.includes(secret), `${secret} is in the Redis dump`);
      }
    });
  });
}
