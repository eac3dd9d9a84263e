import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogThrottle } from '../../src/security/log-throttle.js';

describe('LogThrottle', () => {
  it('admits one line per key and interval, and the next line tells how many were held back', () => {
    let now = 0;
    const throttle = new LogThrottle(1000, 100, () => now);
    assert.equal(throttle.admit('a'), 0);
    assert.equal(throttle.admit('b'), 0, 'another address has its own line');
    for (let i = 0; i < 5; i++) assert.equal(throttle.admit('a'), null);
    now = 1000;
    assert.equal(throttle.admit('a'), 5);
    assert.equal(throttle.admit('a'), null);
    now = 2500;
    assert.equal(throttle.admit('a'), 1);
    now = 5000;
    assert.equal(throttle.admit('a'), 0, 'counts older than one interval are not carried');
  });

  it('holds back new keys once it remembers its maximum, so many addresses cannot flood either', () => {
    const throttle = new LogThrottle(1000, 3, () => 0);
    for (const key of ['a', 'b', 'c']) assert.equal(throttle.admit(key), 0);
    assert.equal(throttle.admit('d'), null);
  });
});
