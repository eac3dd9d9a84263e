// A text console's viewers on two gateway replicas (one real redis-server): each replica holds a
// terminal of its own for the session. A container's console is one dtach session in Proxmox, so
// both viewers share its shell; a VM's serial port takes one client, so the second replica's
// viewer waits for it (qm terminal's banner and nothing more) until the first replica's terminal
// closes after its viewers left and the reconnect grace passed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { inputMessage, TermClient } from '../helpers/term-client.js';

const PUBLIC_URL = 'http://console.test:8080';
const GRACE_S = 2;

describe('a text console watched through two replicas', () => {
  let redis: TestRedis;
  let sim: Simulator;
  let a: TestGateway;
  let b: TestGateway;
  /** A replica whose terminals outlive their viewers for minutes, as by default. */
  let longGrace: TestGateway;
  const clients: TermClient[] = [];

  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.2', port: 0 });
    const env = {
      PROXMOXVNC_REDIS_URL: redis.url,
      PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex'),
      PROXMOXVNC_PUBLIC_URL: PUBLIC_URL,
      PROXMOXVNC_RECONNECT_GRACE: String(GRACE_S),
    };
    a = await startTestGateway(env, sim.caPem);
    b = await startTestGateway(env, sim.caPem);
    longGrace = await startTestGateway({ ...env, PROXMOXVNC_RECONNECT_GRACE: '300' }, sim.caPem);
    for (const tg of [a, b, longGrace]) await poll(() => request(`${address(tg)}/healthz`).then((r) => (r.body.dump(), r.statusCode)), (s) => s === 200, 'a ready replica');
  });
  after(async () => {
    for (const c of clients) c.close();
    await a?.stop();
    await b?.stop();
    await longGrace?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  const address = (tg: TestGateway) => `http://127.0.0.1:${(tg.gateway.app.server.address() as { port: number }).port}`;

  async function session(vmid: string, on = a): Promise<{ location: string; cookie: string }> {
    const created = await createToken({ ...on, origin: address(on) }, { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', console: 'xterm', username: 'vncuser@pve', password: 'vncpass', vmid });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(`${address(on)}${new URL(created.body.url as string).pathname}`);
    assert.equal(redeemed.statusCode, 302);
    return { location: redeemed.location!, cookie: redeemed.cookie! };
  }

  async function viewerOn(tg: TestGateway, s: { location: string; cookie: string }, prompt = true): Promise<TermClient> {
    const client = await TermClient.connect(`${address(tg).replace('http:', 'ws:')}${new URL(s.location, PUBLIC_URL).pathname}websocket`, { origin: PUBLIC_URL, cookie: s.cookie });
    clients.push(client);
    if (prompt) assert.ok(await client.waitFor(/# $/), `a prompt: ${JSON.stringify(client.output)}`);
    return client;
  }

  it("a container's console: both replicas' viewers type into the one shell and see each other", async () => {
    const s = await session('200');
    const onA = await viewerOn(a, s);
    const onB = await viewerOn(b, s);
    onA.send(inputMessage('echo via-a\r'));
    assert.ok(await onB.waitFor('echo via-a\r\nvia-a\r\n'), "B's viewer sees what A's typed");
    onB.send(inputMessage('echo via-b\r'));
    assert.ok(await onA.waitFor('echo via-b\r\nvia-b\r\n'), "and A's sees B's");
    onA.close();
    onB.close();
  });

  it("a VM's serial port: the other replica's viewer waits until the first replica's terminal closes, after its grace", async () => {
    const s = await session('100');
    const onA = await viewerOn(a, s);
    const onB = await viewerOn(b, s, false);
    assert.ok(await onB.waitFor('starting serial terminal on interface serial0\r\n'));
    onA.send(inputMessage('echo held-by-a\r'));
    assert.ok(await onA.waitFor('\r\nheld-by-a\r\n'));
    assert.ok(!onB.output.includes('held-by-a'), 'the port is held where the first viewer is');
    const left = Date.now();
    onA.close();
    assert.ok(await onB.waitFor(/# $/, 15_000), `the port passes to B's terminal: ${JSON.stringify(onB.output)}`);
    assert.ok(Date.now() - left >= GRACE_S * 1000 - 100, "only once A's terminal closed at the end of its grace");
    onB.send(inputMessage('echo now-b\r'));
    assert.ok(await onB.waitFor('\r\nnow-b\r\n'));
    onB.close();
  });

  it("a terminal in its grace lets go of a VM's serial port once its session is found gone, though the end was never heard", async () => {
    const held = await session('100', longGrace);
    (await viewerOn(longGrace, held)).close();
    const waiting = await viewerOn(b, await session('100', b), false);
    assert.ok(await waiting.waitFor('starting serial terminal on interface serial0\r\n'));
    assert.ok(!(await waiting.waitFor(/# $/, 1_000)), 'the port stays with the terminal in its grace');
    // Gone from Redis with no end announced: as when the end was published while the subscription was down.
    const direct = new Redis(redis.url);
    try {
      assert.equal(await direct.del(`proxmoxvnc:session:{${held.location.split('/')[2]}}`), 1);
    } finally {
      direct.disconnect();
    }
    assert.ok(await waiting.waitFor(/# $/, 15_000), `the port passes on within the lost-end check, minutes before the grace ends: ${JSON.stringify(waiting.output)}`);
    waiting.close();
  });
});
