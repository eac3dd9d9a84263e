import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it, mock } from 'node:test';
import { createSecretCheck } from '../../src/control/secret.js';

describe('control secret check (invariant 3)', () => {
  const secret = 'a'.repeat(40);

  it('accepts the bare secret and the Bearer form, nothing else', () => {
    const check = createSecretCheck(secret);
    assert.equal(check(secret), true);
    assert.equal(check(`Bearer ${secret}`), true);
    for (const wrong of [undefined, '', 'a', secret.slice(0, -1), `${secret}a`, `bearer ${secret}`, `Basic ${secret}`]) {
      assert.equal(check(wrong), false, String(wrong));
    }
  });

  it('compares in constant time: equal-length digests through timingSafeEqual, for any guess', () => {
    const spy = mock.method(crypto, 'timingSafeEqual');
    syncBuiltinESMExports();
    try {
      const check = createSecretCheck(secret);
      for (const guess of ['x', secret.slice(0, 20), secret, 'y'.repeat(500)]) check(guess);
      assert.equal(spy.mock.callCount(), 4);
      for (const call of spy.mock.calls) {
        const [a, b] = call.arguments as [Buffer, Buffer];
        assert.equal(a.length, 32);
        assert.equal(b.length, 32);
      }
    } finally {
      spy.mock.restore();
      syncBuiltinESMExports();
    }
  });
});
