// KeyedLock on node:test's fake timers: the longest hold is a real setTimeout in the unit, so the
// tests move time instead of waiting it out.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { KeyedLock } from '../../src/sessions/keyed-lock.js';
import { settle, useMockTimers } from '../helpers/clock.js';

/** Asks for the lock and records, in `log`, when it was obtained. */
function acquireLogged(lock: KeyedLock, key: string, maxHoldMs: number, log: string[], name: string): Promise<() => void> {
  return lock.acquire(key, maxHoldMs).then((release) => {
    log.push(name);
    return release;
  });
}

describe('KeyedLock', () => {
  useMockTimers(['setTimeout']);

  it('gives a key to one holder at a time, in arrival order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = acquireLogged(lock, 'guest-100', 10_000, log, 'a');
    const b = acquireLogged(lock, 'guest-100', 10_000, log, 'b');
    const c = acquireLogged(lock, 'guest-100', 10_000, log, 'c');
    await settle();
    assert.deepEqual(log, ['a']);
    (await a)();
    await settle();
    assert.deepEqual(log, ['a', 'b'], 'the second comer is next, the third still waits');
    (await b)();
    await settle();
    assert.deepEqual(log, ['a', 'b', 'c']);
    (await c)();
  });

  it('lets other keys go ahead while one is held', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    await acquireLogged(lock, 'guest-100', 10_000, log, 'a');
    void acquireLogged(lock, 'guest-100', 10_000, log, 'waiting');
    const other = await acquireLogged(lock, 'guest-101', 10_000, log, 'other');
    await settle();
    assert.deepEqual(log, ['a', 'other']);
    other();
  });

  it('takes the lock from a holder that never releases at its longest hold, not a millisecond before', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    await acquireLogged(lock, 'guest-100', 1_000, log, 'stuck');
    void acquireLogged(lock, 'guest-100', 1_000, log, 'next');
    mock.timers.tick(999);
    await settle();
    assert.deepEqual(log, ['stuck']);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(log, ['stuck', 'next']);
  });

  it("counts a waiter's longest hold from when it got the lock, not from when it asked", async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    await acquireLogged(lock, 'guest-100', 1_000, log, 'first');
    void acquireLogged(lock, 'guest-100', 100, log, 'second');
    void acquireLogged(lock, 'guest-100', 100, log, 'third');
    mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(log, ['first', 'second']);
    mock.timers.tick(99);
    await settle();
    assert.deepEqual(log, ['first', 'second'], "the second's 100 ms started at 1000, not at 0");
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(log, ['first', 'second', 'third']);
  });

  it("releases once: a second call, or a call after the expiry, does not free the next holder's lock", async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const releaseA = await acquireLogged(lock, 'guest-100', 1_000, log, 'a');
    const b = acquireLogged(lock, 'guest-100', 10_000, log, 'b');
    void acquireLogged(lock, 'guest-100', 10_000, log, 'c');
    releaseA();
    releaseA();
    await settle();
    assert.deepEqual(log, ['a', 'b'], 'c still waits for b');

    const releaseB = await b;
    mock.timers.tick(10_000);
    await settle();
    assert.deepEqual(log, ['a', 'b', 'c'], "b's expiry handed the lock to c");
    const d = acquireLogged(lock, 'guest-100', 10_000, log, 'd');
    releaseB();
    await settle();
    assert.deepEqual(log, ['a', 'b', 'c'], "b's late release leaves c holding it");
    mock.timers.tick(10_000);
    (await d)();
  });

  it('is free again at once after the last holder released it', async () => {
    const lock = new KeyedLock();
    (await lock.acquire('guest-100', 1_000))();
    const log: string[] = [];
    void acquireLogged(lock, 'guest-100', 1_000, log, 'again');
    await settle();
    assert.deepEqual(log, ['again']);
  });
});
