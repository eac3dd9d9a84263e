import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** A client on its own loopback address: the throttle counts per client address. */
function clientAt(localAddress: string): Agent {
  return new Agent({ localAddress });
}

describe('brute-force throttle (invariant 5)', () => {
  let tg: TestGateway;
  const attacker = clientAt('127.0.0.5');
  const bystander = clientAt('127.0.0.6');

  before(async () => {
    tg = await startTestGateway({ PROXMOXVNC_RATE_LIMIT_AUTH_FAILURES: '3', PROXMOXVNC_RATE_LIMIT_REDEMPTIONS: '4' });
  });
  after(async () => {
    await tg?.stop();
    await attacker.close();
    await bystander.close();
  });

  const status = async (dispatcher: Agent, authorization: string) => {
    const answer = await request(`${tg.origin}/status`, { dispatcher, headers: { authorization } });
    await answer.body.dump();
    return { code: answer.statusCode, retryAfter: answer.headers['retry-after'] };
  };

  it('answers 429 after too many failed control-API logins, even to the right secret', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await status(attacker, `guess-${i}`)).code, 401);
    const refused = await status(attacker, 'guess-4');
    assert.equal(refused.code, 429);
    assert.ok(Number(refused.retryAfter) > 0);
    assert.equal((await status(attacker, tg.secret)).code, 429, 'a right guess is not even checked');
    assert.equal((await status(bystander, tg.secret)).code, 200, 'other addresses are not affected');
  });

  it('answers 429 after too many invalid redemptions from one address', async () => {
    const redeem = async (dispatcher: Agent, token: string) => {
      const answer = await request(`${tg.origin}/vnc/${token}`, { dispatcher });
      const body = await answer.body.text();
      return { code: answer.statusCode, body };
    };
    for (let i = 0; i < 4; i++) assert.equal((await redeem(attacker, `${'A'.repeat(42)}${i}`)).code, 404);
    const refused = await redeem(attacker, 'B'.repeat(43));
    assert.equal(refused.code, 429);
    assert.match(refused.body, /Too many/);
    assert.equal((await redeem(bystander, 'C'.repeat(43))).code, 404);
  });
});
