// Ends announced while a replica was not listening: the check looks up every session the process
// holds something for (viewers, a text console's terminal in its grace) and ends here, once, each
// that is gone, with node:test's fake timers.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { LOST_END_CHECK_MS, scheduleLostEndCheck } from '../../src/sessions/lost-end-check.js';
import type { SessionStore } from '../../src/sessions/store.js';
import { settle, useMockTimers } from '../helpers/clock.js';

describe('the lost-end check', () => {
  useMockTimers(['setInterval']);

  it('ends here the sessions held here that the store no longer has, each once, and leaves live ones', async () => {
    const live = new Set(['viewed', 'in-grace']);
    const looked: string[] = [];
    const sessions = { get: async (id: string) => (looked.push(id), live.has(id) ? {} : null) } as unknown as SessionStore;
    const held = { viewers: ['viewed', 'gone-viewed'], terminals: ['in-grace', 'gone-in-grace', 'gone-viewed'] };
    const ended: string[] = [];
    const stop = scheduleLostEndCheck(sessions, () => [...held.viewers, ...held.terminals], (id) => ended.push(id), silentLogger);
    try {
      mock.timers.tick(LOST_END_CHECK_MS - 1);
      await settle();
      assert.deepEqual(looked, [], 'not before the interval');
      mock.timers.tick(1);
      for (let i = 0; i < 10; i++) await settle();
      assert.deepEqual(looked.sort(), ['gone-in-grace', 'gone-viewed', 'in-grace', 'viewed'], 'each session once, viewers and terminals alike');
      assert.deepEqual(ended.sort(), ['gone-in-grace', 'gone-viewed']);
    } finally {
      stop();
    }
  });
});
