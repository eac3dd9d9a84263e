// Two gateway replicas sharing one real redis-server: any replica serves any link, limits and
// ends hold across them, a killed replica's console continues on the other, and Redis trouble is
// a 503, never lost state.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { request } from 'undici';
import type { Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, type TestGateway } from '../helpers/gateway.js';
import { listeningPort, spawnGateway } from '../helpers/gateway-process.js';
import { poll } from '../helpers/poll.js';
import type { TestRedis } from '../helpers/redis.js';
import { address, on, PUBLIC_URL, socketOn, startReplicaPair, type ReplicaPair } from '../helpers/replica-pair.js';

describe('two gateway replicas sharing Redis', () => {
  let pair: ReplicaPair;
  let redis: TestRedis;
  let sim: Simulator;
  let a: TestGateway;
  let b: TestGateway;
  let env: Record<string, string>;
  let base: Record<string, string>;
  let link: ReplicaPair['link'];

  before(async () => {
    // Only the throttle test sends wrong secrets; the others' right ones are never counted.
    pair = await startReplicaPair({ PROXMOXVNC_MAX_VIEWERS_PER_SESSION: '1', PROXMOXVNC_RATE_LIMIT_AUTH_FAILURES: '4' });
    ({ redis, sim, a, b, env, base } = pair);
    link = (tg) => pair.link(tg);
  });
  after(async () => pair?.stop());

  const openViewer = async (tg: TestGateway, location: string, cookie: string) => {
    const opened = await openConsoleSocket(socketOn(tg, location), { origin: PUBLIC_URL, cookie });
    if (opened.status !== 101) return { status: opened.status };
    const closed = new Promise<number>((resolve) => opened.ws!.once('close', (code) => resolve(code)));
    return { status: opened.status, client: opened.client!, ws: opened.ws!, closed };
  };

  /**
   * A viewer whose console works, retried as the page retries: the previous viewer's leave is
   * recorded a moment after its socket closed, and with max_viewers_per_session 1 a new viewer is
   * refused (4001) until then, or until a killed replica's lease lapses.
   */
  const workingViewer = async (tg: TestGateway, location: string, cookie: string, timeoutMs = 5_000) => {
    const attempt = async () => {
      const viewer = await openViewer(tg, location, cookie);
      const ok = viewer.status === 101 && (await viewer.client!.handshake({}).then((r) => r.securityResult === 0, () => false));
      return ok ? viewer : null;
    };
    return (await poll(attempt, (v) => v !== null, 'a working console', timeoutMs))!;
  };

  it('serves a link made on one replica on the other: redemption, page and console, then a reconnect on the first', async () => {
    const url = await link(a);
    const redeemed = await redeem(on(b, url));
    assert.equal(redeemed.statusCode, 302, redeemed.body);
    const page = await request(on(a, redeemed.location!), { headers: { cookie: redeemed.cookie! } });
    assert.equal(page.statusCode, 200);
    await page.body.dump();
    const first = await openViewer(b, redeemed.location!, redeemed.cookie!);
    assert.equal((await first.client!.handshake({})).securityResult, 0);
    first.client!.typeText('via b');
    await poll(async () => sim.received(100).text, (t) => t.includes('via b'), 'keys through replica B');
    first.ws!.close();
    await first.closed;
    const again = await workingViewer(a, redeemed.location!, redeemed.cookie!);
    again.ws!.close();
    assert.equal((await redeem(on(a, url))).statusCode, 404, 'the link was used up on the other replica');
  });

  it('lets exactly one of 200 concurrent redemptions spread over both replicas win', async () => {
    const url = await link(b);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => redeem(on(i % 2 ? a : b, url)).then((r) => r.statusCode)));
    assert.equal(results.filter((s) => s === 302).length, 1, JSON.stringify(results.filter((s) => s !== 404)));
  });

  it('holds the viewer limit across replicas, shows the whole cluster in /status, and ends a viewer from the other replica', async () => {
    const redeemed = await redeem(on(a, await link(a)));
    const sessionId = redeemed.location!.split('/')[2]!;
    const viewer = await openViewer(a, redeemed.location!, redeemed.cookie!);
    assert.equal((await viewer.client!.handshake({})).securityResult, 0);
    const second = await openViewer(b, redeemed.location!, redeemed.cookie!);
    assert.equal(await second.closed, 4001, 'max_viewers_per_session 1 holds on the other replica');

    const status = (await (await request(`${on(b, `${PUBLIC_URL}/status`)}`, { headers: { authorization: b.secret } })).body.json()) as {
      sessions: Array<{ session_id: string; viewers: number; replicas: string[]; status: string }>;
    };
    const entry = status.sessions.find((s) => s.session_id === sessionId);
    assert.equal(entry?.status, 'active');
    assert.deepEqual(entry?.replicas, [a.gateway.sessions.replicaId]);

    const ended = await request(on(b, `${PUBLIC_URL}/sessions/${sessionId}`), { method: 'DELETE', headers: { authorization: b.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    assert.equal(await viewer.closed, 4000, 'the viewer on the other replica is told its session ended');
  });

  it('closes the viewers of a session that ended while its replica was not listening for ends', async () => {
    const redeemed = await redeem(on(a, await link(a)));
    const sessionId = redeemed.location!.split('/')[2]!;
    const viewer = await openViewer(a, redeemed.location!, redeemed.cookie!);
    assert.equal((await viewer.client!.handshake({})).securityResult, 0);
    // Gone from Redis with no end announced: as when the end was published while A's subscription was down.
    const direct = new Redis(redis.url);
    try {
      assert.equal(await direct.del(`proxmoxvnc:session:{${sessionId}}`), 1);
    } finally {
      direct.disconnect();
    }
    assert.equal(await viewer.closed, 4000, 'the viewer is told its session ended');
  });

  it('answers 503 while Redis is away, keeps open consoles relaying, and recovers without a restart', async () => {
    // A failing store call must end only its own request, never the process.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const redeemed = await redeem(on(a, await link(a)));
    const viewer = await openViewer(a, redeemed.location!, redeemed.cookie!);
    assert.equal((await viewer.client!.handshake({})).securityResult, 0);
    await redis.kill();
    try {
      const created = await createToken({ ...a, origin: address(a) }, base);
      assert.equal(created.statusCode, 503);
      assert.equal(created.body.error, 'store_unavailable');
      const health = await request(on(b, `${PUBLIC_URL}/healthz`));
      assert.equal(health.statusCode, 503);
      assert.match(String(((await health.body.json()) as { reason: string }).reason), /Redis/);
      viewer.client!.typeText('while redis is down');
      await poll(async () => sim.received(100).text, (t) => t.includes('while redis is down'), 'keys while Redis is down');
    } finally {
      await redis.restart();
    }
    await poll(async () => (await request(on(b, `${PUBLIC_URL}/healthz`))).statusCode, (s) => s === 200, 'ready again', 15_000);
    const created = await poll(() => createToken({ ...a, origin: address(a) }, base), (c) => c.statusCode === 200, 'a link once Redis is back', 15_000);
    assert.ok(created.body.token);
    viewer.ws!.close();
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no unhandled rejection while Redis was away');
  });

  it('carries a console on after the replica holding its viewer is killed (SIGKILL), and its unused links still work', async () => {
    const run = spawnGateway([], {
      ...env,
      PROXMOXVNC_AUTHORIZATION: b.secret,
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_PROXMOX_CA_FILE: await writeCa(sim.caPem),
    });
    const { child } = run;
    try {
      const doomed = `http://127.0.0.1:${await listeningPort(run)}`;
      await poll(() => request(`${doomed}/healthz`).then((r) => r.statusCode, () => 0), (s) => s === 200, 'the child replica');
      const make = async () => {
        const answer = await request(`${doomed}/create`, { method: 'POST', headers: { authorization: b.secret, 'content-type': 'application/json' }, body: JSON.stringify(base) });
        return ((await answer.body.json()) as { url: string }).url;
      };
      const unused = await make();
      const redeemed = await redeem(`${doomed}${new URL(await make()).pathname}`);
      assert.equal(redeemed.statusCode, 302);
      const ws = `${doomed.replace('http:', 'ws:')}${redeemed.location}websocket`;
      const opened = await openConsoleSocket(ws, { origin: PUBLIC_URL, cookie: redeemed.cookie! });
      assert.equal((await opened.client!.handshake({})).securityResult, 0);
      child.kill('SIGKILL');
      await once(child, 'exit');
      // The page reconnects through the load balancer: here straight to the surviving replica.
      const reconnected = await workingViewer(b, redeemed.location!, redeemed.cookie!, 20_000);
      reconnected.client!.typeText('after the kill');
      await poll(async () => sim.received(100).text, (t) => t.includes('after the kill'), 'keys after the kill');
      reconnected.ws!.close();
      assert.equal((await redeem(on(b, unused))).statusCode, 302, 'a link made on the killed replica opens on B');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  // Last: a throttled address stays refused for the rest of the minute, even with the right secret.
  it('counts failed control logins per client across replicas', async () => {
    const attempt = (tg: TestGateway) =>
      request(on(tg, `${PUBLIC_URL}/status`), { headers: { authorization: 'wrong-secret-wrong-secret-wrong-secret' } }).then(async (r) => {
        await r.body.dump();
        return r.statusCode;
      });
    const answers = [await attempt(a), await attempt(b), await attempt(a), await attempt(b)];
    assert.deepEqual(answers, [401, 401, 401, 401]);
    assert.equal(await attempt(b), 429, 'the fifth failure in the cluster is throttled, on either replica');
    assert.equal(await attempt(a), 429);
  });
});

async function writeCa(pem: string): Promise<string> {
  const { mkdtemp, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const file = join(await mkdtemp(join(tmpdir(), 'pvnc-ca-')), 'ca.pem');
  await writeFile(file, pem);
  return file;
}
