// Shared links across two gateway replicas sharing one real redis-server: a link made on replica A
// is redeemed on B and joins the session whose first viewer is on A, within the cluster-wide
// viewer limit, shown by link in either replica's /status, and closed from either.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { address, on, PUBLIC_URL, socketOn, startReplicaPair, type ReplicaPair } from '../helpers/replica-pair.js';

describe('shared links across replicas sharing Redis', () => {
  let pair: ReplicaPair;
  let sim: Simulator;
  let a: TestGateway;
  let b: TestGateway;
  let base: Record<string, string>;

  before(async () => {
    pair = await startReplicaPair({ PROXMOXVNC_MAX_VIEWERS_PER_SESSION: '2' });
    ({ sim, a, b, base } = pair);
  });
  after(async () => pair?.stop());

  const viewer = async (tg: TestGateway, location: string, cookie: string) => {
    const opened = await openConsoleSocket(socketOn(tg, location), { origin: PUBLIC_URL, cookie });
    assert.equal(opened.status, 101);
    const closed = new Promise<number>((resolve) => opened.ws!.once('close', (code) => resolve(code)));
    return { client: opened.client!, ws: opened.ws!, closed };
  };

  it("redeems on B a link made on A, joins A's session, keeps its view-only viewer's keys from the guest, and ends from B", async () => {
    const created = await createToken({ ...a, origin: address(a) }, base);
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const owner = await redeem(on(a, created.body.url as string));
    const sessionId = owner.location!.split('/')[2]!;
    const own = await viewer(a, owner.location!, owner.cookie!);
    const ownInit = (await own.client.handshake({})).serverInit!;

    const made = await request(on(a, `/sessions/${sessionId}/links`), {
      method: 'POST',
      headers: { authorization: a.secret, 'content-type': 'application/json' },
      body: JSON.stringify({ view_only: true }),
    });
    const link = (await made.body.json()) as { url: string; token: string };
    assert.equal(made.statusCode, 200, JSON.stringify(link));
    assert.ok(link.url.startsWith(`${PUBLIC_URL}/vnc/`));
    const shared = await redeem(on(b, link.url));
    assert.equal(shared.statusCode, 302, shared.body);
    assert.equal(shared.location, owner.location);
    assert.equal((await redeem(on(a, link.url))).statusCode, 404, 'used up on the other replica');

    const watcher = await viewer(b, shared.location!, shared.cookie!);
    const watcherInit = (await watcher.client.handshake({})).serverInit!;
    assert.deepEqual([watcherInit.name, watcherInit.width, watcherInit.height], [ownInit.name, ownInit.width, ownInit.height]);
    watcher.client.typeText('replica-watcher-2x');
    watcher.client.requestUpdate(false, 0, 0, watcherInit.width, watcherInit.height);
    await watcher.client.readFramebufferUpdate();
    own.client.typeText('replica-owner-5v');
    await poll(async () => sim.received(100).text, (t) => t.includes('replica-owner-5v'), "the owner's keys through A");
    assert.ok(!sim.received(100).text.includes('replica-watcher'), "the view-only viewer's keys never reached the guest");

    const status = (await (await request(on(a, '/status'), { headers: { authorization: a.secret } })).body.json()) as { sessions: Record<string, unknown>[] };
    const entry = status.sessions.find((s) => s.session_id === sessionId)!;
    assert.equal(entry.viewers, 2);
    assert.equal(entry.view_only_viewers, 1);
    assert.deepEqual((entry.replicas as string[]).sort(), [a.gateway.sessions.replicaId, b.gateway.sessions.replicaId].sort());
    assert.deepEqual(entry.viewers_by_link, [
      { token_prefix: `${(created.body.token as string).slice(0, 6)}…`, shared: false, view_only: false, viewers: 1 },
      { token_prefix: `${link.token.slice(0, 6)}…`, shared: true, view_only: true, viewers: 1 },
    ]);

    // The limit of 2 is the cluster's: a third viewer is refused on either replica.
    const again = await viewer(a, shared.location!, shared.cookie!);
    assert.equal(await again.closed, 4001);

    const ended = await request(on(b, `/sessions/${sessionId}`), { method: 'DELETE', headers: { authorization: b.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    assert.equal(await watcher.closed, 4000, 'the shared viewer on B is closed');
    assert.equal(await own.closed, 4000, 'the owner on A is closed');
    const page = await request(on(a, owner.location!), { headers: { cookie: shared.cookie! } });
    assert.equal(page.statusCode, 403, 'the shared cookie ends with the session');
    await page.body.dump();
  });
});
