// The backend's `tag`: taken at /create, kept with the link and then the session (in memory and in
// Redis), and shown in /status; a tag that is not a string of at most 256 characters is a 400.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { createToken, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

async function statusEntry(tg: TestGateway, sessionId: string): Promise<Record<string, unknown> | undefined> {
  const answer = await request(`${tg.origin}/status`, { headers: { authorization: tg.secret } });
  const status = (await answer.body.json()) as { sessions: Array<Record<string, unknown>> };
  return status.sessions.find((s) => s.session_id === sessionId);
}

describe('the tag of /create', () => {
  // The helper's gateway keeps its sessions in memory; the second one keeps them in Redis.
  const fx = useSimAndGateway({}, { backend: 'builtin' });
  let redis: TestRedis;
  let shared: TestGateway;
  before(async () => {
    redis = await startRedis();
    shared = await startTestGateway({ PROXMOXVNC_REDIS_URL: redis.url, PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex') }, fx.sim.caPem);
  });
  after(async () => {
    await shared?.stop();
    await redis?.stop();
  });

  for (const [name, tg] of [['memory', () => fx.tg], ['Redis', () => shared]] as const) {
    it(`keeps the tag through redemption and shows it in /status (${name} stores)`, async () => {
      // Opaque: whatever the backend sends comes back unchanged, spaces, quotes and all.
      const tag = `customer 42 / "order" #${'x'.repeat(200)}é`;
      const created = await createToken(tg(), { ...fx.params, tag });
      assert.equal(created.statusCode, 200, JSON.stringify(created.body));
      const redeemed = await redeem(created.body.url as string);
      assert.equal(redeemed.statusCode, 302);
      const sessionId = redeemed.location!.split('/')[2]!;
      assert.equal((await statusEntry(tg(), sessionId))?.tag, tag);

      const untagged = await redeem((await createToken(tg(), fx.params)).body.url as string);
      assert.equal((await statusEntry(tg(), untagged.location!.split('/')[2]!))?.tag, null);
    });
  }

  it('refuses a tag over 256 characters or not a string with 400 invalid_params naming it', async () => {
    assert.equal((await createToken(fx.tg, { ...fx.params, tag: 'a'.repeat(256) })).statusCode, 200);
    for (const tag of ['a'.repeat(257), 42, { id: 1 }]) {
      const answer = await createToken(fx.tg, { ...fx.params, tag });
      assert.equal(answer.statusCode, 400);
      assert.equal(answer.body.error, 'invalid_params');
      assert.match(String((answer.body.fields as Record<string, string>).tag), /string|256/);
    }
  });
});
