// Shared links (POST /sessions/<id>/links): a further one-time link into a live session, for
// support staff watching or helping. Its browser gets a cookie of its own; a view-only one's input
// never reaches the guest; its viewers count in the session's limit, show in /status by link and
// close with the session; its token is counted, revocable, single use and expires like any other.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { createToken, freePortRange, openConsoleSocket, redeem } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

interface Answer {
  statusCode: number;
  body: Record<string, unknown>;
}

describe('shared links into a live session', () => {
  const fx = useSimAndGateway({ PROXMOXVNC_MAX_VIEWERS_PER_SESSION: '2', PROXMOXVNC_TOKEN_TTL: '120' }, { backend: 'builtin' });
  /** Every link and cookie handed out: none may be in the logs whole. */
  const secrets: string[] = [];

  const control = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const answer = await request(`${fx.tg.origin}${path}`, {
      method,
      headers: { authorization: fx.tg.secret, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { statusCode: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
  };
  const shareLink = (sessionId: string, params?: unknown) => control('POST', `/sessions/${sessionId}/links`, params);

  /** A redeemed session of guest 100, as its owner's browser holds it. */
  const session = async (extra: Record<string, string> = {}) => {
    const created = await createToken(fx.tg, { ...fx.params, ...extra });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(created.body.url as string);
    assert.equal(redeemed.statusCode, 302, redeemed.body);
    return { id: redeemed.location!.split('/')[2]!, location: redeemed.location!, cookie: redeemed.cookie!, token: created.body.token as string };
  };

  const socketUrl = (location: string) => `${fx.tg.origin.replace('http:', 'ws:')}${location}websocket`;

  /** A console viewer with this cookie, past the RFB handshake; `closed` settles with its close code. */
  const viewer = async (location: string, cookie: string) => {
    const opened = await openConsoleSocket(socketUrl(location), { origin: fx.tg.origin, cookie });
    assert.equal(opened.status, 101);
    const closed = new Promise<number>((resolve) => opened.ws!.once('close', (code) => resolve(code)));
    const result = await opened.client!.handshake({});
    assert.equal(result.securityResult, 0);
    return { client: opened.client!, ws: opened.ws!, closed, serverInit: result.serverInit! };
  };

  /** A shared link made and opened: its browser's cookie and where it was sent. */
  const joinWith = async (sessionId: string, viewOnly: boolean) => {
    const made = await shareLink(sessionId, { view_only: viewOnly });
    assert.equal(made.statusCode, 200, JSON.stringify(made.body));
    const redeemed = await redeem(made.body.url as string);
    assert.equal(redeemed.statusCode, 302, redeemed.body);
    secrets.push(made.body.token as string, redeemed.cookie!.split('=')[1]!);
    return { location: redeemed.location!, cookie: redeemed.cookie!, token: made.body.token as string, setCookie: redeemed.setCookie! };
  };

  it('answers with a one-time link in the shape of /create, whose browser gets its own cookie for the same console page', async () => {
    const owner = await session();
    const made = await shareLink(owner.id, { view_only: true, ttl: 60 });
    assert.equal(made.statusCode, 200, JSON.stringify(made.body));
    assert.equal(made.body.status, 'success');
    assert.match(made.body.token as string, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(made.body.url, `${fx.tg.origin}/vnc/${made.body.token as string}`);
    const expiresIn = Date.parse(made.body.expires_at as string) - Date.now();
    assert.ok(expiresIn > 50_000 && expiresIn <= 60_000, `expires in ${expiresIn} ms`);
    assert.equal(made.body.session_id, owner.id);
    assert.equal(made.body.view_only, true);

    const redeemed = await redeem(made.body.url as string);
    assert.equal(redeemed.statusCode, 302);
    assert.equal(redeemed.location, owner.location, 'the same session');
    assert.notEqual(redeemed.cookie, owner.cookie, 'a cookie of its own');
    assert.match(redeemed.setCookie!, /HttpOnly/i);
    assert.match(redeemed.setCookie!, new RegExp(`Path=/console/${owner.id}/`));
    const page = await request(`${fx.tg.origin}${owner.location}`, { headers: { cookie: redeemed.cookie! } });
    assert.equal(page.statusCode, 200);
    assert.match(await page.body.text(), /"viewOnly":true/, 'the page is a view-only one');
    assert.equal((await redeem(made.body.url as string)).statusCode, 404, 'single use');
  });

  it("drops a view-only viewer's keys while the owner's and a full-control shared viewer's reach the guest", async () => {
    const owner = await session();
    const watcherLink = await joinWith(owner.id, true);
    const own = await viewer(owner.location, owner.cookie);
    const watcher = await viewer(watcherLink.location, watcherLink.cookie);
    assert.equal(watcher.serverInit.name, own.serverInit.name, 'the same desktop');

    watcher.client.typeText('watcher-9f3k');
    watcher.client.clientCutText('watcher-clip-9f3k');
    // Messages on one connection are handled in order: the answer to this request comes after the keys would have gone.
    watcher.client.requestUpdate(false, 0, 0, watcher.serverInit.width, watcher.serverInit.height);
    await watcher.client.readFramebufferUpdate();
    own.client.typeText('owner-7q2m');
    await poll(async () => fx.sim.received(100).text, (t) => t.includes('owner-7q2m'), "the owner's keys at the guest");
    assert.ok(!fx.sim.received(100).text.includes('watcher'), "the view-only viewer's keys never reached the guest");
    watcher.ws.close();
    await watcher.closed;

    const helperLink = await joinWith(owner.id, false);
    const helper = await viewer(helperLink.location, helperLink.cookie);
    helper.client.typeText('helper-4h8z');
    await poll(async () => fx.sim.received(100).text, (t) => t.includes('helper-4h8z'), "the full-control shared viewer's keys at the guest");
    helper.ws.close();
    own.ws.close();
  });

  it("drops a view-only viewer's typing on a text console (xterm) while the owner's and a helper's reach the terminal", async () => {
    const owner = await session({ console: 'xterm', vmid: '200', node: 'pve1' });
    /** A terminal viewer as the xterm page opens it; its first frame is the gateway's ready signal. */
    const terminal = async (cookie: string) => {
      const ws = new WebSocket(socketUrl(owner.location), { headers: { cookie, origin: fx.tg.origin } });
      const frames: Buffer[] = [];
      ws.on('message', (data) => frames.push(data as Buffer));
      await once(ws, 'open');
      await poll(async () => frames.length, (n) => n > 0, 'the terminal ready');
      return { ws, type: (text: string) => ws.send(Buffer.from(`0:${Buffer.byteLength(text)}:${text}`)) };
    };
    const own = await terminal(owner.cookie);
    const watcher = await terminal((await joinWith(owner.id, true)).cookie);
    watcher.type('echo shared-watcher-typed\r');
    own.type('echo owner-typed-3c\r');
    await poll(async () => fx.sim.terminal(200).input, (input) => input.includes('owner-typed-3c'), "the owner's typing at the terminal");
    assert.ok(!fx.sim.terminal(200).input.includes('shared-watcher'), "the view-only viewer's typing never reached the terminal");
    watcher.ws.close();
    const helper = await terminal((await joinWith(owner.id, false)).cookie);
    helper.type('echo helper-typed-8d\r');
    await poll(async () => fx.sim.terminal(200).input, (input) => input.includes('helper-typed-8d'), "the full-control shared viewer's typing at the terminal");
    helper.ws.close();
    own.ws.close();
  });

  it('counts shared viewers in max_viewers_per_session and shows each viewer in /status by the link it came with', async () => {
    const owner = await session();
    const own = await viewer(owner.location, owner.cookie);
    const watcherLink = await joinWith(owner.id, true);
    const watcher = await viewer(watcherLink.location, watcherLink.cookie);

    const status = await control('GET', '/status');
    const entry = (status.body.sessions as Record<string, unknown>[]).find((s) => s.session_id === owner.id)!;
    assert.equal(entry.viewers, 2);
    assert.equal(entry.view_only_viewers, 1);
    assert.deepEqual(entry.viewers_by_link, [
      { token_prefix: `${owner.token.slice(0, 6)}…`, shared: false, view_only: false, viewers: 1 },
      { token_prefix: `${watcherLink.token.slice(0, 6)}…`, shared: true, view_only: true, viewers: 1 },
    ]);

    const third = await joinWith(owner.id, true);
    const refused = await openConsoleSocket(socketUrl(third.location), { origin: fx.tg.origin, cookie: third.cookie });
    assert.equal(refused.status, 101);
    assert.equal(await new Promise<number>((resolve) => refused.ws!.once('close', (code) => resolve(code))), 4001, 'the limit of 2 holds');
    watcher.ws.close();
    own.ws.close();
  });

  it("closes the shared viewers when the session ends, and their cookie opens nothing afterwards", async () => {
    const owner = await session();
    const own = await viewer(owner.location, owner.cookie);
    const watcherLink = await joinWith(owner.id, true);
    const watcher = await viewer(watcherLink.location, watcherLink.cookie);
    const unused = await shareLink(owner.id, { view_only: true });
    assert.equal((await control('DELETE', `/sessions/${owner.id}`)).statusCode, 200);
    assert.equal(await watcher.closed, 4000);
    assert.equal(await own.closed, 4000);
    const page = await request(`${fx.tg.origin}${owner.location}`, { headers: { cookie: watcherLink.cookie } });
    assert.equal(page.statusCode, 403);
    await page.body.dump();
    assert.equal((await redeem(unused.body.url as string)).statusCode, 404, "a link of the ended session is invalid");
    assert.equal((await shareLink(owner.id, {})).statusCode, 404, 'an ended session gives no link');
  });

  it("never lets a shared link's cookie open another session (security invariant 4)", async () => {
    const first = await session();
    const second = await session();
    const watcherLink = await joinWith(first.id, false);
    for (const cookie of [watcherLink.cookie, `pvnc_session=${watcherLink.cookie.split('=')[1]}`]) {
      const page = await request(`${fx.tg.origin}${second.location}`, { headers: { cookie } });
      assert.equal(page.statusCode, 403);
      await page.body.dump();
      const socket = await openConsoleSocket(socketUrl(second.location), { origin: fx.tg.origin, cookie });
      assert.equal(socket.status, 403);
      const power = await request(`${fx.tg.origin}${second.location}power/reboot`, { method: 'POST', headers: { cookie, 'x-proxmoxvnc': 'power' } });
      assert.equal(power.statusCode, 404);
      await power.body.dump();
    }
  });

  it('gives no more than the session has: a view-only session takes only view-only links, and they offer no power', async () => {
    const owner = await session({ view_only: 'true' });
    const refused = await shareLink(owner.id, { view_only: false });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.body.error, 'invalid_params');
    assert.match(String((refused.body.fields as Record<string, string>).view_only), /view-only/);
    const byDefault = await shareLink(owner.id);
    assert.equal(byDefault.statusCode, 200, 'no body: a view-only link');
    assert.equal(byDefault.body.view_only, true);

    // Without validation /create asks Proxmox nothing, so the simulator's user needs no VM.PowerMgmt here.
    const powered = await session({ power: 'reboot', validate: 'false' });
    const watcherLink = await joinWith(powered.id, true);
    const page = await (await request(`${fx.tg.origin}${powered.location}`, { headers: { cookie: watcherLink.cookie } })).body.text();
    assert.doesNotMatch(page, /"power":/, 'a view-only page offers no power actions');
    const power = await request(`${fx.tg.origin}${powered.location}power/reboot`, { method: 'POST', headers: { cookie: watcherLink.cookie, 'x-proxmoxvnc': 'power' } });
    assert.equal(power.statusCode, 403);
    assert.equal(((await power.body.json()) as { error: string }).error, 'not_allowed');
  });

  it('refuses bad input with 4xx naming the field, unknown sessions with 404 and a wrong secret with 401', async () => {
    const owner = await session();
    const bad = async (params: unknown, field: string) => {
      const answer = await shareLink(owner.id, params);
      assert.equal(answer.statusCode, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'invalid_params');
      assert.ok(field in (answer.body.fields as Record<string, string>), `${field} named in ${JSON.stringify(answer.body.fields)}`);
      return (answer.body.fields as Record<string, string>)[field]!;
    };
    assert.match(await bad({ view_onyl: true }, 'view_onyl'), /did you mean "view_only"/);
    await bad({ view_only: 'maybe' }, 'view_only');
    await bad({ ttl: 0 }, 'ttl');
    await bad({ ttl: 121 }, 'ttl');
    await bad({ ttl: 'soon' }, 'ttl');
    await bad([true], 'params');
    const form = await request(`${fx.tg.origin}/sessions/${owner.id}/links`, {
      method: 'POST',
      headers: { authorization: fx.tg.secret, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'params=%7B%22view_only%22%3A%22false%22%2C%22ttl%22%3A%2230%22%7D',
    });
    assert.equal(form.statusCode, 200, 'the params form of /create works too');
    assert.equal(((await form.body.json()) as { view_only: boolean }).view_only, false);

    assert.equal((await shareLink('A'.repeat(22), {})).statusCode, 404);
    assert.equal((await shareLink('not a session', {})).statusCode, 404);
    const wrong = await control('POST', `/sessions/${owner.id}/links`, {}, { authorization: 'wrong' });
    assert.equal(wrong.statusCode, 401);
    const notJson = await request(`${fx.tg.origin}/sessions/${owner.id}/links`, { method: 'POST', headers: { authorization: fx.tg.secret, 'content-type': 'application/json' }, body: '{' });
    assert.equal(notJson.statusCode, 400);
    await notJson.body.dump();
  });

  it('writes no whole shared link token or cookie secret into the logs (invariant 8)', () => {
    assert.ok(secrets.length > 10);
    const logs = fx.tg.logs.join('\n');
    assert.match(logs, /shared link redeemed/);
    for (const secret of secrets) assert.ok(!logs.includes(secret), `${secret.slice(0, 6)}… is in the logs`);
  });

  it('counts its token among the pending ones, revokes it with DELETE /tokens/<token> and lets it expire', async () => {
    const owner = await session();
    const pending = async () => (await control('GET', '/status')).body.pending_tokens as number;
    const before = await pending();
    const made = await shareLink(owner.id, { view_only: true });
    assert.equal(await pending(), before + 1);
    assert.equal((await control('DELETE', `/tokens/${made.body.token as string}`)).statusCode, 200);
    assert.equal(await pending(), before);
    assert.equal((await redeem(made.body.url as string)).statusCode, 404, 'a revoked link is invalid');
    const short = await shareLink(owner.id, { view_only: true, ttl: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal((await redeem(short.body.url as string)).statusCode, 404, 'an expired link is invalid');
  });
});

describe('shared links within max_pending_tokens', () => {
  const fx = useSimAndGateway({ PROXMOXVNC_MAX_PENDING_TOKENS: '2' }, { backend: 'builtin' });

  it('refuses a shared link past the limit with 503 too_many_tokens', async () => {
    const created = await createToken(fx.tg, fx.params);
    const redeemed = await redeem(created.body.url as string);
    const id = redeemed.location!.split('/')[2]!;
    const make = async () => {
      const answer = await request(`${fx.tg.origin}/sessions/${id}/links`, { method: 'POST', headers: { authorization: fx.tg.secret } });
      return { statusCode: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
    };
    assert.equal((await make()).statusCode, 200);
    assert.equal((await make()).statusCode, 200);
    const full = await make();
    assert.equal(full.statusCode, 503);
    assert.equal(full.body.error, 'too_many_tokens');
  });
});

describe('shared links with session_ports', () => {
  const fx = useSimAndGateway(async () => {
    const range = await freePortRange(2);
    return { PROXMOXVNC_SESSION_PORTS: `${range.from}-${range.to}` };
  }, { backend: 'builtin' });

  it("sends the shared link's browser to the session's own port, where its cookie opens the console", async () => {
    const created = await createToken(fx.tg, fx.params);
    const owner = await redeem(created.body.url as string);
    const ownPage = new URL(owner.location!);
    assert.notEqual(ownPage.origin, fx.tg.origin, 'the session has a port of its own');
    const made = await request(`${fx.tg.origin}/sessions/${ownPage.pathname.split('/')[2]!}/links`, { method: 'POST', headers: { authorization: fx.tg.secret } });
    const shared = await redeem(((await made.body.json()) as { url: string }).url);
    assert.equal(shared.statusCode, 302);
    assert.equal(shared.location, owner.location);
    const page = await request(shared.location!, { headers: { cookie: shared.cookie! } });
    assert.equal(page.statusCode, 200);
    await page.body.dump();
    const opened = await openConsoleSocket(`${shared.location!.replace('http:', 'ws:')}websocket`, { origin: ownPage.origin, cookie: shared.cookie! });
    assert.equal(opened.status, 101);
    assert.equal((await opened.client!.handshake({})).securityResult, 0);
    opened.ws!.close();
  });
});
