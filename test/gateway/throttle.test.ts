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

describe('brute-force throttle: who counts as whom (issue 12, finding 7)', () => {
  const backend = clientAt('127.0.0.7');
  const neighbour = clientAt('127.0.0.8');
  after(async () => {
    await backend.close();
    await neighbour.close();
  });

  it('never locks out an address in control_allowed_from, while others are still throttled', async () => {
    const tg = await startTestGateway({ PROXMOXVNC_RATE_LIMIT_AUTH_FAILURES: '3', PROXMOXVNC_CONTROL_ALLOWED_FROM: '127.0.0.7/32' });
    try {
      const status = async (dispatcher: Agent, authorization: string) => {
        const answer = await request(`${tg.origin}/status`, { dispatcher, headers: { authorization } });
        await answer.body.dump();
        return answer.statusCode;
      };
      for (let i = 0; i < 10; i++) assert.equal(await status(backend, `wrong-${i}`), 401);
      assert.equal(await status(backend, tg.secret), 200, 'wrong secrets from its address do not lock the backend out');
      for (let i = 0; i < 3; i++) await status(neighbour, `wrong-${i}`);
      assert.equal(await status(neighbour, tg.secret), 429, 'any other address is throttled as before');
    } finally {
      await tg.stop();
    }
  });

  it('with trust_proxy true, counts the address the proxy saw, not one the client wrote into X-Forwarded-For', async () => {
    const tg = await startTestGateway({ PROXMOXVNC_RATE_LIMIT_AUTH_FAILURES: '3', PROXMOXVNC_TRUST_PROXY: 'true' });
    try {
      // As nginx's $proxy_add_x_forwarded_for does: the client's own header, then the address nginx saw.
      const attempt = async (i: number) => {
        const answer = await request(`${tg.origin}/status`, { headers: { authorization: `wrong-${i}`, 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9` } });
        await answer.body.dump();
        return answer.statusCode;
      };
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(await attempt(i));
      assert.deepEqual(codes, [401, 401, 401, 429, 429], 'a rotating left-most value does not escape the throttle');
    } finally {
      await tg.stop();
    }
  });
});
