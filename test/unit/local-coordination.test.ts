// LocalCoordination: one process is the whole cluster, so every lease is its own, and its locks
// are the KeyedLock's (timers faked, nothing waits in real time).
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { LocalCoordination, type Coordination } from '../../src/sessions/coordination.js';
import { settle, useMockTimers } from '../helpers/clock.js';

describe('LocalCoordination', () => {
  useMockTimers(['setTimeout']);

  it('grants every claim, the same name again too: no other replica could hold it', async () => {
    const coordination: Coordination = new LocalCoordination();
    assert.equal(await coordination.claim('renew|s1', 1_000), true);
    assert.equal(await coordination.claim('renew|s1', 1_000), true);
  });

  it("locks a guest until release or the longest hold, whichever comes first", async () => {
    const coordination = new LocalCoordination();
    const release = await coordination.lock('vncproxy|h|8006|100', 500);
    let next: (() => void) | undefined;
    void coordination.lock('vncproxy|h|8006|100', 500).then((r) => (next = r));
    await settle();
    assert.equal(next, undefined);
    release();
    await settle();
    assert.ok(next, 'released: the next opening goes');
    let third = false;
    void coordination.lock('vncproxy|h|8006|100', 500).then(() => (third = true));
    mock.timers.tick(499);
    await settle();
    assert.equal(third, false);
    mock.timers.tick(1);
    await settle();
    assert.equal(third, true, 'not released: it goes after 500 ms');
  });
});
