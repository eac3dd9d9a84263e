// SessionActivityBuffer on fake timers (its flush interval) and an injected clock (input times).
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { SessionActivityBuffer } from '../../src/sessions/activity-buffer.js';
import type { SessionActivity, SessionStore } from '../../src/sessions/store.js';
import { ManualClock, settle, useMockTimers } from '../helpers/clock.js';

const FLUSH_MS = 1_000;

/** A store that only records the batches written to it; `failFor` ids fail. */
function recordingStore(failFor: string[] = []) {
  const writes: [string, SessionActivity][] = [];
  const store: Pick<SessionStore, 'recordActivity'> = {
    async recordActivity(id, activity) {
      if (failFor.includes(id)) throw new Error(`store down for ${id}`);
      writes.push([id, { ...activity }]);
    },
  };
  return { writes, store: store as SessionStore };
}

function makeBuffer(failFor?: string[]) {
  const { writes, store } = recordingStore(failFor);
  const clock = new ManualClock(5_000);
  const errors: unknown[] = [];
  const buffer = new SessionActivityBuffer(store, (e) => errors.push(e), FLUSH_MS, clock.now);
  return { buffer, clock, errors, writes };
}

describe('SessionActivityBuffer', () => {
  useMockTimers(['setInterval']);

  it('writes nothing until its interval, then one batch per session with the sums and the latest input', async () => {
    const { buffer, clock, writes } = makeBuffer();
    buffer.bytes('s1', 100, 0);
    buffer.input('s1');
    clock.advance(250);
    buffer.input('s1');
    buffer.bytes('s1', 50, 7);
    buffer.bytes('s2', 1, 2);
    mock.timers.tick(FLUSH_MS - 1);
    await settle();
    assert.deepEqual(writes, [], 'a keystroke or a frame costs no store call of its own');
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(writes, [
      ['s1', { bytesToBrowser: 150, bytesToUpstream: 7, lastInputAt: 5_250 }],
      ['s2', { bytesToBrowser: 1, bytesToUpstream: 2 }],
    ]);
    mock.timers.tick(FLUSH_MS);
    await settle();
    assert.equal(writes.length, 2, 'an interval with nothing gathered writes nothing');
  });

  it('takes the input time it is given over its clock', async () => {
    const { buffer, writes } = makeBuffer();
    buffer.input('s1', 42);
    await buffer.flush();
    assert.deepEqual(writes, [['s1', { bytesToBrowser: 0, bytesToUpstream: 0, lastInputAt: 42 }]]);
  });

  it("flushes one session on its own (a viewer leaving), keeping the others' for the interval", async () => {
    const { buffer, writes } = makeBuffer();
    buffer.bytes('s1', 10, 0);
    buffer.bytes('s2', 20, 0);
    await buffer.flush('s1');
    assert.deepEqual(writes, [['s1', { bytesToBrowser: 10, bytesToUpstream: 0 }]]);
    await buffer.flush('s1');
    assert.equal(writes.length, 1, 'flushed once');
    mock.timers.tick(FLUSH_MS);
    await settle();
    assert.deepEqual(writes.slice(1), [['s2', { bytesToBrowser: 20, bytesToUpstream: 0 }]]);
  });

  it("reports a session's failed write and still writes the others", async () => {
    const { buffer, errors, writes } = makeBuffer(['broken']);
    buffer.bytes('broken', 1, 1);
    buffer.bytes('fine', 2, 2);
    await buffer.flush();
    assert.deepEqual(writes, [['fine', { bytesToBrowser: 2, bytesToUpstream: 2 }]]);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /store down for broken/);
  });

  it('writes what it holds when closed, and nothing on the interval after', async () => {
    const { buffer, writes } = makeBuffer();
    buffer.bytes('s1', 3, 4);
    await buffer.close();
    assert.deepEqual(writes, [['s1', { bytesToBrowser: 3, bytesToUpstream: 4 }]]);
    buffer.bytes('s1', 1, 1);
    mock.timers.tick(FLUSH_MS * 3);
    await settle();
    assert.equal(writes.length, 1);
  });
});
