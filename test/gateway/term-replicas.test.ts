// A text console's viewers on two gateway replicas (one real redis-server): each replica holds a
// terminal of its own for the session. A container's console is one dtach session in Proxmox, so
// both viewers share its shell; a VM's serial port takes one client, so the second replica's
// viewer waits for it (qm terminal's banner and nothing more) until the first replica's terminal
// closes after its viewers left and the reconnect grace passed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
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
    for (const tg of [a, b]) await poll(() => request(`${address(tg)}/healthz`).then((r) => (r.body.dump(), r.statusCode)), (s) => s === 200, 'a ready replica');
  });
  after(async () => {
    for (const c of clients) c.close();
    await a?.stop();
    await b?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  const address = (tg: TestGateway) => `http://127.0.0.1:${(tg.gateway.app.server.address() as { port: number }).port}`;

  async function session(vmid: string): Promise<{ location: string; cookie: string }> {
    const created = await createToken({ ...a, origin: address(a) }, { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', console: 'xterm', username: 'vncuser@pve', password: 'vncpass', vmid });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(`${address(a)}${new URL(created.body.url as string).pathname}`);
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
});
