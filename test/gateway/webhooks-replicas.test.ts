// Webhooks with two replicas sharing a real redis-server: the queue is Redis's, so a replica
// killed (SIGKILL) with events still queued loses none, the other delivers them, and an event
// every replica hears (a session's end) is sent once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { listeningPort, spawnGateway } from '../helpers/gateway-process.js';
import { poll } from '../helpers/poll.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const LIFE = ['token.created', 'session.redeemed', 'viewer.connected', 'viewer.disconnected', 'session.ended'];

describe('webhooks across replicas sharing Redis', () => {
  let redis: TestRedis;
  let sim: Simulator;
  let receiver: WebhookReceiver;
  let survivor: TestGateway;
  let env: Record<string, string>;
  let base: Record<string, string>;
  let caFile: string;
  const webhookSecret = randomBytes(32).toString('hex');
  /** The receiver is down (503) until the test says otherwise. */
  let up = false;

  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    receiver = await startWebhookReceiver(webhookSecret, () => ({ status: up ? 200 : 503 }));
    env = {
      PROXMOXVNC_REDIS_URL: redis.url,
      PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex'),
      PROXMOXVNC_WEBHOOK_URL: receiver.url,
      PROXMOXVNC_WEBHOOK_SECRET: webhookSecret,
      PROXMOXVNC_WEBHOOK_RETRY_INITIAL: '0.05',
      // A killed replica's lease on an event lapses after three timeouts and 5 s.
      PROXMOXVNC_WEBHOOK_TIMEOUT: '1',
    };
    survivor = await startTestGateway(env, sim.caPem);
    caFile = join(await mkdtemp(join(tmpdir(), 'pvnc-ca-')), 'ca.pem');
    await writeFile(caFile, sim.caPem);
    base = { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: '100' };
  });
  after(async () => {
    await survivor?.stop();
    await receiver?.close();
    await sim?.stop();
    await redis?.stop();
  });

  const ofTag = (tag: string) => receiver.accepted.filter((e) => e.tag === tag);

  it('delivers every event a killed replica had queued, and none twice', async () => {
    const doomed = spawnGateway([], {
      ...env,
      PROXMOXVNC_AUTHORIZATION: survivor.secret,
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_PUBLIC_HOST: '127.0.0.1',
      PROXMOXVNC_PROXMOX_CA_FILE: caFile,
    });
    try {
      const origin = `http://127.0.0.1:${await listeningPort(doomed)}`;
      await poll(() => request(`${origin}/healthz`).then((r) => (r.body.dump(), r.statusCode), () => 0), (s) => s === 200, 'the doomed replica ready');
      const onDoomed = { ...survivor, origin };

      // A whole life on the doomed replica, while the receiver refuses everything.
      const created = await createToken(onDoomed, { ...base, tag: 'doomed-life' });
      assert.equal(created.statusCode, 200, JSON.stringify(created.body));
      const redeemed = await redeem(created.body.url as string);
      assert.equal(redeemed.statusCode, 302);
      const sessionId = redeemed.location!.split('/')[2]!;
      const opened = await openConsoleSocket(`${origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin, cookie: redeemed.cookie! });
      assert.equal((await opened.client!.handshake({})).securityResult, 0);
      const closed = new Promise((resolve) => opened.ws!.once('close', resolve));
      opened.ws!.close();
      await closed;
      const revoked = await createToken(onDoomed, { ...base, tag: 'doomed-revoked' });
      const revoke = await request(`${origin}/tokens/${revoked.body.token as string}`, { method: 'DELETE', headers: { authorization: survivor.secret } });
      assert.equal(revoke.statusCode, 200);
      await revoke.body.dump();
      // Ended on the doomed replica; the survivor hears the end too and must not tell it again.
      await poll(
        async () => {
          const answer = await request(`${origin}/status`, { headers: { authorization: survivor.secret } });
          const status = (await answer.body.json()) as { sessions: Array<{ session_id: string; viewers: number }> };
          return status.sessions.find((s) => s.session_id === sessionId)?.viewers;
        },
        (viewers) => viewers === 0,
        'the viewer left',
      );
      const ended = await request(`${origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: survivor.secret } });
      assert.equal(ended.statusCode, 200);
      await ended.body.dump();

      // Each link's first event was tried and refused; the rest wait behind it, in Redis.
      const tried = (tag: string) => receiver.requests.some((r) => (JSON.parse(r.body) as { tag: string }).tag === tag);
      await poll(async () => tried('doomed-life') && tried('doomed-revoked'), Boolean, 'both links tried');
      const depth = async () => Number(/^proxmoxvnc_webhook_queue_depth (\d+)$/m.exec(await (await request(`${survivor.origin}/metrics`)).body.text())?.[1]);
      await poll(depth, (n) => n === LIFE.length + 2, 'every event queued (the depth seen from the survivor)');
      assert.equal(receiver.accepted.length, 0);

      doomed.child.kill('SIGKILL');
      await doomed.exited;
      up = true;

      await poll(async () => ofTag('doomed-life').length, (n) => n >= LIFE.length, 'the killed replica\'s life delivered by the survivor', 30_000);
      await poll(async () => ofTag('doomed-revoked').length, (n) => n >= 2, 'the revocation delivered by the survivor', 30_000);
      // Time for a duplicate, had one been queued.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(ofTag('doomed-life').map((e) => e.type), LIFE);
      assert.deepEqual(ofTag('doomed-revoked').map((e) => e.type), ['token.created', 'token.revoked']);
      assert.equal(new Set(receiver.accepted.map((e) => e.id)).size, receiver.accepted.length, 'no event delivered twice');
      assert.ok(receiver.requests.every((r) => r.signed), 'every request signed');
    } finally {
      if (doomed.running()) doomed.child.kill('SIGKILL');
    }
  });

  it('sends a session end once, after its viewer\'s disconnect, when the other replica ends it; and an expiry once', async () => {
    up = true;
    const created = await createToken(survivor, { ...base, tag: 'ended-elsewhere' });
    const redeemed = await redeem(created.body.url as string);
    assert.equal(redeemed.statusCode, 302);
    const sessionId = redeemed.location!.split('/')[2]!;
    const opened = await openConsoleSocket(`${survivor.origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin: survivor.origin, cookie: redeemed.cookie! });
    assert.equal((await opened.client!.handshake({})).securityResult, 0);
    const closed = new Promise<number>((resolve) => opened.ws!.once('close', (code) => resolve(code)));
    const other = await startTestGateway(env, sim.caPem);
    try {
      assert.equal((await createToken(other, { ...base, tag: 'expiring', ttl: '1' })).statusCode, 200);
      const ended = await request(`${other.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: other.secret } });
      assert.equal(ended.statusCode, 200);
      await ended.body.dump();
      assert.equal(await closed, 4000, 'the viewer on the survivor is told the session ended');
      await poll(async () => ofTag('ended-elsewhere').length, (n) => n >= 5, 'the end delivered');
      await poll(async () => ofTag('expiring').length, (n) => n >= 2, 'the expiry delivered', 15_000);
      // Both replicas heard the end and both sweep expiries: time for a second of either.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // The replica holding the viewer tells its disconnect, then the end; the other defers to it.
      assert.deepEqual(ofTag('ended-elsewhere').map((e) => e.type), LIFE);
      assert.equal(ofTag('ended-elsewhere')[4]!.data.reason, 'ended by the backend');
      assert.deepEqual(ofTag('expiring').map((e) => e.type), ['token.created', 'token.expired']);
    } finally {
      await other.stop();
    }
  });
});
