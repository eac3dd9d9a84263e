// A shared link's viewers join through the same path as the session's own (src/console/socket.ts),
// so the backend's webhook hears of them too: viewer.connected (view-only or not) and
// viewer.disconnected, in the session's order, before its end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { openConsoleSocket, redeem } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

describe("a shared link's viewers in the webhook events", () => {
  const secret = randomBytes(32).toString('hex');
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver(secret);
  });
  const fx = useSimAndGateway(() => ({ PROXMOXVNC_WEBHOOK_URL: receiver.url, PROXMOXVNC_WEBHOOK_SECRET: secret }), { backend: 'builtin' });
  // Registered after the gateway's: the gateway is stopped before the receiver of its events.
  after(async () => {
    await receiver?.close();
  });

  const viewer = async (location: string, cookie: string) => {
    const opened = await openConsoleSocket(`${fx.tg.origin.replace('http:', 'ws:')}${location}websocket`, { origin: fx.tg.origin, cookie });
    assert.equal(opened.status, 101);
    assert.equal((await opened.client!.handshake({})).securityResult, 0);
    const closed = new Promise((resolve) => opened.ws!.once('close', resolve));
    return { close: async () => (opened.ws!.close(), await closed) };
  };

  it('tells viewer.connected and viewer.disconnected for the owner and for a view-only shared viewer', async () => {
    const owner = await redeem(await fx.link({ tag: 'shared-events' }));
    const sessionId = owner.location!.split('/')[2]!;
    const own = await viewer(owner.location!, owner.cookie!);
    const made = await request(`${fx.tg.origin}/sessions/${sessionId}/links`, { method: 'POST', headers: { authorization: fx.tg.secret } });
    const link = (await made.body.json()) as { url: string };
    const shared = await redeem(link.url);
    const watcher = await viewer(shared.location!, shared.cookie!);
    await watcher.close();
    await own.close();
    await poll(() => Promise.resolve(fx.tg.gateway.viewers.count), (n) => n === 0, 'both viewers gone');
    const ended = await request(`${fx.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    await ended.body.dump();

    const events = await poll(
      async () => receiver.accepted.filter((e) => e.session_id === sessionId),
      (e) => e.some((event) => event.type === 'session.ended'),
      "the session's events up to its end",
    );
    const viewers = events.filter((e) => e.type.startsWith('viewer.'));
    assert.deepEqual(viewers.map((e) => [e.type, e.data.view_only]), [
      ['viewer.connected', false],
      ['viewer.connected', true],
      ['viewer.disconnected', undefined],
      ['viewer.disconnected', undefined],
    ]);
    const watcherId = viewers[1]!.data.viewer_id;
    assert.equal(viewers[2]!.data.viewer_id, watcherId, "the shared viewer's disconnect names it");
    assert.ok(viewers.every((e) => e.tag === 'shared-events'));
    assert.equal(events.at(-1)!.type, 'session.ended');
  });
});
