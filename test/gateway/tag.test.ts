// The backend's `tag`: taken at /create, kept with the link and then the session (in memory and in
// Redis), and shown in /status; a tag that is not a string of at most 256 characters is a 400.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

async function statusEntry(tg: TestGateway, sessionId: string): Promise<Record<string, unknown> | undefined> {
  const answer = await request(`${tg.origin}/status`, { headers: { authorization: tg.secret } });
  const status = (await answer.body.json()) as { sessions: Array<Record<string, unknown>> };
  return status.sessions.find((s) => s.session_id === sessionId);
}

describe('the tag of /create', () => {
  let sim: Simulator;
  let redis: TestRedis;
  let memory: TestGateway;
  let shared: TestGateway;
  let base: Record<string, string>;

  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    redis = await startRedis();
    memory = await startTestGateway({}, sim.caPem);
    shared = await startTestGateway({ PROXMOXVNC_REDIS_URL: redis.url, PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex') }, sim.caPem);
    base = { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: '100' };
  });
  after(async () => {
    await memory?.stop();
    await shared?.stop();
    await redis?.stop();
    await sim?.stop();
  });

  for (const [name, tg] of [['memory', () => memory], ['Redis', () => shared]] as const) {
    it(`keeps the tag through redemption and shows it in /status (${name} stores)`, async () => {
      // Opaque: whatever the backend sends comes back unchanged, spaces, quotes and all.
      const tag = `customer 42 / "order" #${'x'.repeat(200)}é`;
      const created = await createToken(tg(), { ...base, tag });
      assert.equal(created.statusCode, 200, JSON.stringify(created.body));
      const redeemed = await redeem(created.body.url as string);
      assert.equal(redeemed.statusCode, 302);
      const sessionId = redeemed.location!.split('/')[2]!;
      assert.equal((await statusEntry(tg(), sessionId))?.tag, tag);

      const untagged = await redeem((await createToken(tg(), base)).body.url as string);
      assert.equal((await statusEntry(tg(), untagged.location!.split('/')[2]!))?.tag, null);
    });
  }

  it('refuses a tag over 256 characters or not a string with 400 invalid_params naming it', async () => {
    assert.equal((await createToken(memory, { ...base, tag: 'a'.repeat(256) })).statusCode, 200);
    for (const tag of ['a'.repeat(257), 42, { id: 1 }]) {
      const answer = await createToken(memory, { ...base, tag });
      assert.equal(answer.statusCode, 400);
      assert.equal(answer.body.error, 'invalid_params');
      assert.match(String((answer.body.fields as Record<string, string>).tag), /string|256/);
    }
  });
});
