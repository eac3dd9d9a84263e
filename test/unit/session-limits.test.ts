// checkDue is a pure function of the record and the time: each limit is tried one millisecond
// before, at, and after its end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDue, type SessionLimits } from '../../src/sessions/limits.js';
import type { SessionRecord } from '../../src/sessions/record.js';
import { consoleGrant } from '../helpers/grants.js';

const LIMITS: SessionLimits = { maxSessions: 10, maxViewersPerSession: 2, reconnectGraceMs: 60_000, idleTimeoutMs: 600_000 };
const T0 = 1_000_000;
const LIFETIME_MS = 3_600_000;
const everyReplicaLive = () => true;

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 'session-1',
    tokenPrefix: 'p',
    grant: consoleGrant({ maxDurationMs: LIFETIME_MS }),
    grantVersion: 1,
    createdAt: T0,
    expiresAt: T0 + LIFETIME_MS,
    lastInputAt: T0,
    viewers: { local: 1 },
    bytesToBrowser: 0,
    bytesToUpstream: 0,
    ...overrides,
  };
}

/** The verdicts one millisecond before `end`, at it, and one after. */
function around(end: number, r: SessionRecord, limits = LIMITS, isLive = everyReplicaLive) {
  return [end - 1, end, end + 1].map((now) => checkDue(r, now, limits, isLive));
}

describe('checkDue', () => {
  it("ends a session at the end of its lifetime, even while it is watched and busy", () => {
    const r = record({ lastInputAt: T0 + LIFETIME_MS - 1 });
    const end = { kind: 'end', reason: 'session lifetime reached' };
    assert.deepEqual(around(r.expiresAt, r), [{ kind: 'later', at: r.expiresAt }, end, end]);
  });

  it('ends a session with no input for idle_timeout, watched or not', () => {
    const lastInputAt = T0 + 5_000;
    const r = record({ lastInputAt });
    const idleEnd = lastInputAt + LIMITS.idleTimeoutMs;
    const [before, at, after] = around(idleEnd, r);
    assert.equal(before!.kind, 'later');
    const end = { kind: 'end', reason: 'no input within idle_timeout' };
    assert.deepEqual([at, after], [end, end]);
  });

  it('has no idle limit when idle_timeout is 0', () => {
    const noIdle = { ...LIMITS, idleTimeoutMs: 0 };
    const r = record();
    assert.deepEqual(checkDue(r, r.expiresAt - 1, noIdle, everyReplicaLive), { kind: 'later', at: r.expiresAt });
  });

  it('ends a session without a viewer when the reconnect grace since the last one left is over', () => {
    const unwatchedSince = T0 + 10_000;
    const r = record({ viewers: {}, unwatchedSince });
    const graceEnd = unwatchedSince + LIMITS.reconnectGraceMs;
    const end = { kind: 'end', reason: 'no viewer reconnected in time' };
    assert.deepEqual(around(graceEnd, r), [{ kind: 'later', at: graceEnd }, end, end]);
  });

  it('never ends a watched session for want of a viewer, and looks again no later than a grace from now', () => {
    const r = record({ unwatchedSince: undefined });
    const now = T0 + LIMITS.reconnectGraceMs * 5;
    assert.deepEqual(checkDue(r, now, LIMITS, everyReplicaLive), { kind: 'later', at: now + LIMITS.reconnectGraceMs });
  });

  it("looks again at the earliest end of any limit", () => {
    const shortLife = record({ expiresAt: T0 + 30_000 });
    assert.deepEqual(checkDue(shortLife, T0, LIMITS, everyReplicaLive), { kind: 'later', at: T0 + 30_000 }, 'the lifetime ends first');
    const idleSoon = record({ lastInputAt: T0 - LIMITS.idleTimeoutMs + 20_000 });
    assert.deepEqual(checkDue(idleSoon, T0, LIMITS, everyReplicaLive), { kind: 'later', at: T0 + 20_000 }, 'the idle time ends first');
    const unwatched = record({ viewers: {}, unwatchedSince: T0 - LIMITS.reconnectGraceMs + 7_000 });
    assert.deepEqual(checkDue(unwatched, T0, LIMITS, everyReplicaLive), { kind: 'later', at: T0 + 7_000 }, 'the grace ends first');
  });

  it('names the lifetime when it and the idle time ran out together', () => {
    const r = record({ expiresAt: T0 + LIMITS.idleTimeoutMs });
    assert.deepEqual(checkDue(r, T0 + LIMITS.idleTimeoutMs, LIMITS, everyReplicaLive), { kind: 'end', reason: 'session lifetime reached' });
  });

  it("counts no viewer of a replica that is not live: the grace applies, from when the store marked it unwatched", () => {
    const deadReplica = (replica: string) => replica !== 'gone';
    const watchedOnlyThere = record({ viewers: { gone: 2 } });
    assert.deepEqual(checkDue(watchedOnlyThere, T0, LIMITS, deadReplica), { kind: 'unwatched' }, 'the store must mark it first');
    const marked = record({ viewers: { gone: 2 }, unwatchedSince: T0 });
    assert.deepEqual(checkDue(marked, T0 + LIMITS.reconnectGraceMs, LIMITS, deadReplica), { kind: 'end', reason: 'no viewer reconnected in time' });
    const alsoHere = record({ viewers: { gone: 2, local: 1 }, unwatchedSince: T0 });
    assert.equal(checkDue(alsoHere, T0 + LIMITS.reconnectGraceMs, LIMITS, deadReplica).kind, 'later', 'a live viewer keeps it');
  });
});
