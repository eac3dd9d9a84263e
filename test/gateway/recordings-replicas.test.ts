// Recordings across two replicas sharing one real redis-server and one recording folder (the
// README's advice): a session recorded on A is listed by B, a player link made on B is redeemed on
// A, and the cookie A set opens the player and the file on B (its key comes from redis_secret_key).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

/** The origin users see (a load balancer's); each replica is reached at its own address below. */
const PUBLIC_URL = 'http://console.test:8080';

describe('recordings across replicas sharing Redis and a folder', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let sim: Simulator;
  let a: TestGateway;
  let b: TestGateway;
  let dir: string;

  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    dir = await mkdtemp(join(tmpdir(), 'pvnc-rec-replicas-'));
    const env = {
      PROXMOXVNC_REDIS_URL: redis.url,
      PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex'),
      PROXMOXVNC_PUBLIC_URL: PUBLIC_URL,
      PROXMOXVNC_RECORDING_DIR: dir,
    };
    a = await startTestGateway(env, sim.caPem);
    b = await startTestGateway(env, sim.caPem);
    for (const tg of [a, b]) await poll(() => request(`${address(tg)}/healthz`).then((r) => (r.body.dump(), r.statusCode)), (s) => s === 200, 'a ready replica');
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await sim?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const address = (tg: TestGateway) => `http://127.0.0.1:${(tg.gateway.app.server.address() as { port: number }).port}`;
  const on = (tg: TestGateway, url: string) => `${address(tg)}${new URL(url, PUBLIC_URL).pathname}`;
  const control = async (tg: TestGateway, method: 'GET' | 'POST', path: string) => {
    const answer = await request(`${address(tg)}${path}`, { method, headers: { authorization: tg.secret } });
    return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
  };

  it('lists on B what A recorded, and a player link made on B and opened on A plays from B', async () => {
    const created = await createToken({ ...a, origin: address(a) }, { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: '100', record: true, tag: 'shared-dir' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(on(a, created.body.url as string));
    const opened = await openConsoleSocket(`${on(a, redeemed.location!).replace('http:', 'ws:')}websocket`, { origin: PUBLIC_URL, cookie: redeemed.cookie! });
    const client = opened.client!;
    await client.handshake({});
    await client.readWholeScreen();
    opened.ws!.close();
    await client.closed;

    const listed = await poll(
      () => control(b, 'GET', '/recordings'),
      (answer) => (answer.body.recordings as { tag: string; ended_at?: string }[]).some((r) => r.tag === 'shared-dir' && r.ended_at !== undefined),
      "A's recording in B's list",
    );
    const recording = (listed.body.recordings as { id: string }[])[0]!;
    const link = await control(b, 'POST', `/recordings/${recording.id}/link`);
    assert.equal(link.status, 200);
    const player = await redeem(on(a, link.body.url as string));
    assert.equal(player.statusCode, 302);
    assert.equal((await redeem(on(b, link.body.url as string))).statusCode, 404, 'used up on every replica');
    for (const path of [player.location!, `${player.location!}recording`]) {
      const answer = await request(on(b, path), { headers: { cookie: player.cookie! } });
      assert.equal(answer.statusCode, 200, `${path} on B with A's cookie`);
      await answer.body.dump();
    }
  });
});
