// Events to the backend, end to end: a real gateway, the simulator's console, and a webhook
// receiver of the test's own that checks each signature the way the README tells backends to.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { defaultInventory, startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { startWebhookReceiver, type ReceivedEvent, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const LIFE = ['token.created', 'session.redeemed', 'viewer.connected', 'viewer.disconnected', 'session.ended'];

describe('webhooks', () => {
  let sim: Simulator;
  let base: Record<string, string>;
  const secret = randomBytes(32).toString('hex');

  before(async () => {
    // The console user may also take power actions (power.action).
    const inventory = defaultInventory();
    for (const user of inventory.users) if (user.userid === 'vncuser@pve') for (const entry of user.acl) entry.privileges.push('VM.PowerMgmt');
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin', inventory });
    base = { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: '100' };
  });
  after(async () => {
    await sim?.stop();
  });

  async function withGateway(receiver: WebhookReceiver, run: (tg: TestGateway) => Promise<void>, env: Record<string, string> = {}): Promise<TestGateway> {
    const tg = await startTestGateway(
      { PROXMOXVNC_WEBHOOK_URL: receiver.url, PROXMOXVNC_WEBHOOK_SECRET: secret, PROXMOXVNC_WEBHOOK_RETRY_INITIAL: '0.05', ...env },
      sim.caPem,
    );
    try {
      await run(tg);
    } finally {
      await tg.stop();
    }
    return tg;
  }

  /** Create, redeem, a viewer that types and leaves, then DELETE /sessions/<id>: the session's id and its token. */
  async function wholeLife(tg: TestGateway, tag: string): Promise<{ sessionId: string; token: string }> {
    const created = await createToken(tg, { ...base, tag });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const answer = await request(created.body.url as string, { headers: { 'user-agent': 'webhook-test/1' } });
    assert.equal(answer.statusCode, 302);
    await answer.body.dump();
    const redeemed = { location: answer.headers.location as string, cookie: String(answer.headers['set-cookie']).split(';')[0] };
    const sessionId = redeemed.location.split('/')[2]!;
    const opened = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin: tg.origin, cookie: redeemed.cookie!, 'user-agent': 'webhook-test/1' });
    assert.equal(opened.status, 101);
    assert.equal((await opened.client!.handshake({})).securityResult, 0);
    opened.client!.typeText(`hello ${tag}`);
    await poll(async () => sim.received(100).text, (t) => t.includes(`hello ${tag}`), 'the typed text at the guest');
    const closed = new Promise((resolve) => opened.ws!.once('close', resolve));
    opened.ws!.close();
    await closed;
    // The leave is recorded a moment after the close; the end must come after it.
    await poll(() => Promise.resolve(tg.gateway.viewers.count), (n) => n === 0, 'the viewer gone');
    const ended = await request(`${tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: tg.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    return { sessionId, token: created.body.token as string };
  }

  const ofTag = (receiver: WebhookReceiver, tag: string) => receiver.accepted.filter((e) => e.tag === tag);

  it('sends a whole session life, signed and in order, each event with its session, token prefix, vmid, tag, id and time', async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      const tg = await withGateway(receiver, async (tg) => {
        const { sessionId, token } = await wholeLife(tg, 'customer-1');
        const events = await poll(async () => ofTag(receiver, 'customer-1'), (e) => e.length >= LIFE.length, 'the whole life delivered');
        assert.deepEqual(events.map((e) => e.type), LIFE);
        for (const event of events) {
          assert.equal(event.vmid, 100);
          assert.equal(event.token_prefix, `${token.slice(0, 6)}…`);
          assert.equal(event.session_id, event.type === 'token.created' ? null : sessionId);
          assert.match(event.id, /^evt_[0-9a-f]{32}$/);
          assert.ok(!Number.isNaN(Date.parse(event.time)), event.time);
        }
        assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'every event has its own id');
        const [createdEvent, redeemedEvent, connected, disconnected, endedEvent] = events as [ReceivedEvent, ReceivedEvent, ReceivedEvent, ReceivedEvent, ReceivedEvent];
        assert.equal(typeof createdEvent.data.expires_at, 'string');
        assert.equal(redeemedEvent.data.client_address, '127.0.0.1');
        assert.equal(redeemedEvent.data.user_agent, 'webhook-test/1');
        assert.equal(connected.data.user_agent, 'webhook-test/1');
        assert.equal(connected.data.viewer_id, disconnected.data.viewer_id);
        assert.equal(connected.data.shared_link, false);
        assert.equal(connected.data.link_token_prefix, `${token.slice(0, 6)}…`);
        assert.ok((disconnected.data.bytes_to_browser as number) > 0, JSON.stringify(disconnected.data));
        assert.ok((disconnected.data.bytes_to_proxmox as number) > 0, JSON.stringify(disconnected.data));
        assert.equal(typeof disconnected.data.duration_ms, 'number');
        assert.equal(disconnected.data.reason, 'browser_closed');
        assert.equal(endedEvent.data.reason, 'ended by the backend');
        assert.ok(receiver.requests.every((r) => r.signed), 'every request carries a valid signature');
        assert.match(receiver.requests[0]!.signature!, /^t=\d+,v1=[0-9a-f]{64}$/);
      });
      for (const line of tg.logs) assert.ok(!line.includes(secret), `the webhook secret in a log line: ${line}`);
    } finally {
      await receiver.close();
    }
  });

  it('names the browser behind a trusted proxy, in the redemption and the viewer events alike', async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      await withGateway(
        receiver,
        async (tg) => {
          const created = await createToken(tg, { ...base, tag: 'proxied' });
          const forwarded = { 'x-forwarded-for': '203.0.113.7' };
          const answer = await request(created.body.url as string, { headers: forwarded });
          assert.equal(answer.statusCode, 302);
          await answer.body.dump();
          const location = answer.headers.location as string;
          const cookie = String(answer.headers['set-cookie']).split(';')[0]!;
          const opened = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${location}websocket`, { origin: tg.origin, cookie, ...forwarded });
          assert.equal((await opened.client!.handshake({})).securityResult, 0);
          const events = await poll(async () => ofTag(receiver, 'proxied'), (e) => e.length >= 3, 'the redemption and the viewer');
          assert.deepEqual(events.slice(1, 3).map((e) => [e.type, e.data.client_address]), [
            ['session.redeemed', '203.0.113.7'],
            ['viewer.connected', '203.0.113.7'],
          ]);
          opened.ws!.close();
        },
        { PROXMOXVNC_TRUST_PROXY: 'true' },
      );
    } finally {
      await receiver.close();
    }
  });

  it("tells a shared link's viewer apart from the user's, by its link", async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      await withGateway(receiver, async (tg) => {
        const created = await createToken(tg, { ...base, tag: 'watched' });
        const owner = await redeem(created.body.url as string);
        const sessionId = owner.location!.split('/')[2]!;
        const made = await request(`${tg.origin}/sessions/${sessionId}/links`, { method: 'POST', headers: { authorization: tg.secret } });
        assert.equal(made.statusCode, 200);
        const shared = (await made.body.json()) as { url: string; token: string };
        const staff = await redeem(shared.url);
        assert.equal(staff.statusCode, 302);
        const opened = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${staff.location}websocket`, { origin: tg.origin, cookie: staff.cookie! });
        assert.equal((await opened.client!.handshake({})).securityResult, 0);
        const connected = (await poll(async () => ofTag(receiver, 'watched').filter((e) => e.type === 'viewer.connected'), (e) => e.length === 1, 'the staff viewer'))[0]!;
        assert.equal(connected.session_id, sessionId);
        assert.equal(connected.token_prefix, `${(created.body.token as string).slice(0, 6)}…`, "the session's own link, as on every event");
        assert.equal(connected.data.shared_link, true);
        assert.equal(connected.data.link_token_prefix, `${shared.token.slice(0, 6)}…`);
        assert.equal(connected.data.view_only, true);
        opened.ws!.close();
      });
    } finally {
      await receiver.close();
    }
  });

  it('tells each power action and its outcome', async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      await withGateway(receiver, async (tg) => {
        const created = await createToken(tg, { ...base, vmid: '300', node: 'pve2', tag: 'power', power: ['reset', 'start'] });
        assert.equal(created.statusCode, 200, JSON.stringify(created.body));
        const redeemed = await redeem(created.body.url as string);
        const sessionId = redeemed.location!.split('/')[2]!;
        const act = async (action: string) => {
          const answer = await request(`${tg.origin}/console/${sessionId}/power/${action}`, { method: 'POST', headers: { cookie: redeemed.cookie!, 'x-proxmoxvnc': 'power' } });
          await answer.body.dump();
          return answer.statusCode;
        };
        assert.equal(await act('reset'), 200);
        // Proxmox refuses to start a running guest: the refusal is told too.
        assert.notEqual(await act('start'), 200);
        const events = await poll(async () => ofTag(receiver, 'power'), (e) => e.length >= 4, 'both power actions');
        assert.deepEqual(
          events.map((e) => [e.type, e.session_id, e.data.action ?? null]),
          [['token.created', null, null], ['session.redeemed', sessionId, null], ['power.action', sessionId, 'reset'], ['power.action', sessionId, 'start']],
        );
        assert.equal(events[2]!.data.outcome, 'ok');
        assert.match(String(events[3]!.data.outcome), /^[a-z_]+$/);
        assert.notEqual(events[3]!.data.outcome, 'ok');
        assert.equal(events[2]!.vmid, 300);
      });
    } finally {
      await receiver.close();
    }
  });

  it('tells a revoked token and an expired one, once each', async () => {
    const receiver = await startWebhookReceiver(secret);
    try {
      await withGateway(receiver, async (tg) => {
        const revoked = await createToken(tg, { ...base, tag: 'revoked' });
        const answer = await request(`${tg.origin}/tokens/${revoked.body.token as string}`, { method: 'DELETE', headers: { authorization: tg.secret } });
        assert.equal(answer.statusCode, 200);
        await answer.body.dump();
        assert.equal((await createToken(tg, { ...base, tag: 'expiring', ttl: '1' })).statusCode, 200);
        await poll(async () => ofTag(receiver, 'revoked').map((e) => e.type), (t) => t.length === 2, 'the revocation');
        await poll(async () => ofTag(receiver, 'expiring').map((e) => e.type), (t) => t.length === 2, 'the expiry', 10_000);
        // Time for a second report of either, had there been one.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        assert.deepEqual(ofTag(receiver, 'revoked').map((e) => e.type), ['token.created', 'token.revoked']);
        assert.deepEqual(ofTag(receiver, 'expiring').map((e) => e.type), ['token.created', 'token.expired']);
        const expired = ofTag(receiver, 'expiring')[1]!;
        assert.equal(expired.session_id, null);
        assert.equal(typeof expired.data.expired_at, 'string');
      });
    } finally {
      await receiver.close();
    }
  });

  it('retries a receiver that answers 500 twice: every event arrives once, in order, and the failures are counted', async () => {
    const receiver = await startWebhookReceiver(secret, (n) => ({ status: n < 2 ? 500 : 200 }));
    // A credential in the URL's query: the failures are logged, the URL only by its origin.
    const urlKey = randomBytes(16).toString('hex');
    try {
      const tg = await withGateway(receiver, async (tg) => {
        await wholeLife(tg, 'flaky');
        const events = await poll(async () => ofTag(receiver, 'flaky'), (e) => e.length >= LIFE.length, 'the whole life delivered');
        assert.deepEqual(events.map((e) => e.type), LIFE);
        assert.equal(new Set(receiver.accepted.map((e) => e.id)).size, receiver.accepted.length, 'no event accepted twice');
        assert.deepEqual(receiver.requests.slice(0, 3).map((r) => r.answered), [500, 500, 200]);
        assert.equal(receiver.requests[0]!.body, receiver.requests[2]!.body, 'the retried event is the same event');
        const metrics = await (await request(`${tg.origin}/metrics`)).body.text();
        assert.match(metrics, /proxmoxvnc_webhook_delivery_failures_total\{reason="http_5xx"\} 2\n/);
        assert.match(metrics, /proxmoxvnc_webhook_queue_depth 0\n/);
      }, { PROXMOXVNC_WEBHOOK_URL: `${receiver.url}?key=${urlKey}` });
      assert.ok(tg.logs.some((line) => line.includes('webhook delivery refused')), 'the failures are logged');
      for (const line of tg.logs) assert.ok(!line.includes(urlKey) && !line.includes(secret), `a webhook credential in a log line: ${line}`);
    } finally {
      await receiver.close();
    }
  });

  it('keeps a console relaying while the receiver never answers', async () => {
    const receiver = await startWebhookReceiver(secret, () => 'hang');
    try {
      await withGateway(receiver, async (tg) => {
        const created = await createToken(tg, { ...base, tag: 'hanging' });
        assert.equal(created.statusCode, 200);
        const redeemed = await redeem(created.body.url as string);
        assert.equal(redeemed.statusCode, 302);
        const opened = await openConsoleSocket(`${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin: tg.origin, cookie: redeemed.cookie! });
        assert.equal((await opened.client!.handshake({})).securityResult, 0);
        await poll(async () => receiver.hanging(), (n) => n > 0, 'a delivery held by the receiver');
        for (let round = 0; round < 5; round++) {
          opened.client!.typeText(`round ${round}`);
          await poll(async () => sim.received(100).text, (t) => t.includes(`round ${round}`), `keys of round ${round}`);
          opened.client!.requestUpdate(false, 0, 0, 64, 64);
          assert.ok((await opened.client!.readFramebufferUpdate()).rects.length > 0);
        }
        assert.ok(receiver.hanging() > 0, 'the receiver still holds its deliveries');
        assert.equal(receiver.accepted.length, 0);
        opened.ws!.close();
      }, { PROXMOXVNC_WEBHOOK_TIMEOUT: '60' });
    } finally {
      await receiver.close();
    }
  });
});
