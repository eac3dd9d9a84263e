// session_ports, the original program's model: each session on a port of its own from a range,
// serving only that session, behind the same cookie, and given back when the session ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { createToken, freePortRange, openConsoleSocket, redeem, statusOrErrorCode } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

describe('session_ports', () => {
  let range: { from: number; to: number };
  const fx = useSimAndGateway(async () => {
    range = await freePortRange(2);
    return { PROXMOXVNC_SESSION_PORTS: `${range.from}-${range.to}` };
  }, { backend: 'builtin' });

  const link = async () => {
    const created = await createToken(fx.tg, { hostname: '127.0.0.2', port: fx.sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    assert.ok((created.body.url as string).startsWith(`${fx.tg.origin}/vnc/`), 'links are handed out on the main port');
    return created.body.url as string;
  };
  const open = async () => redeem(await link());
  const portOf = (location: string) => Number(new URL(location).port);

  it("serves the session's page and console on its own port, behind the same cookie", async () => {
    const { statusCode, location, cookie } = await open();
    assert.equal(statusCode, 302);
    assert.match(location!, /^http:\/\/127\.0\.0\.1:\d+\/console\/[A-Za-z0-9_-]+\/$/);
    const port = portOf(location!);
    assert.ok(port >= range.from && port <= range.to, `${port} is in the range`);
    const origin = new URL(location!).origin;

    assert.equal(await statusOrErrorCode(location!, { cookie: cookie! }), 200);
    assert.equal(await statusOrErrorCode(location!), 403, 'the URL alone opens nothing');
    const wsUrl = `${location!.replace('http:', 'ws:')}websocket`;
    assert.equal((await openConsoleSocket(wsUrl, { origin })).status, 403, 'no cookie, no console');
    assert.equal((await openConsoleSocket(wsUrl, { origin: fx.tg.origin, cookie: cookie! })).status, 403, "only the session port's own origin");

    const viewer = await openConsoleSocket(wsUrl, { origin, cookie: cookie! });
    assert.equal(viewer.status, 101);
    const result = await viewer.client!.handshake({});
    assert.equal(result.securityResult, 0);
    assert.equal(result.serverInit?.name, 'web01');
    viewer.ws!.close();

    // Nothing but this session on its port: not the control API, not another session.
    const other = await open();
    for (const path of ['/status', '/healthz', '/create', `/console/${new URL(other.location!).pathname.split('/')[2]}/`]) {
      assert.equal(await statusOrErrorCode(`${origin}${path}`, { authorization: fx.tg.secret, cookie: other.cookie! }), 404, path);
    }
    assert.equal(await statusOrErrorCode(`${origin}/assets/vnc.js`), 200, 'the page assets');
    // Nor another session's websocket on this port, nor this session's page or websocket on the main port.
    const otherPath = new URL(other.location!).pathname;
    assert.equal((await openConsoleSocket(`${origin.replace('http:', 'ws:')}${otherPath}websocket`, { origin, cookie: other.cookie! })).status, 404, "another session's websocket");
    const sessionPath = new URL(location!).pathname;
    assert.equal(await statusOrErrorCode(`${fx.tg.origin}${sessionPath}`, { cookie: cookie! }), 403, 'its page on the main port');
    assert.equal(
      (await openConsoleSocket(`${fx.tg.origin.replace('http:', 'ws:')}${sessionPath}websocket`, { origin: fx.tg.origin, cookie: cookie! })).status,
      404,
      'its websocket on the main port',
    );

    const status = (await (await request(`${fx.tg.origin}/status`, { headers: { authorization: fx.tg.secret } })).body.json()) as {
      sessions: { session_id: string; port: number; url: string }[];
    };
    const entry = status.sessions.find((s) => location!.includes(s.session_id));
    assert.deepEqual([entry?.port, entry?.url], [port, location]);
  });

  it('gives the port back when the session ends, and says the service is busy when none is free, keeping the link', async () => {
    // The first test's two sessions hold both ports of the range.
    const busyLink = await link();
    const third = await redeem(busyLink);
    assert.equal(third.statusCode, 503);
    assert.match(third.body, /busy/);
    assert.equal(third.cookie, undefined);

    const status = (await (await request(`${fx.tg.origin}/status`, { headers: { authorization: fx.tg.secret } })).body.json()) as {
      sessions: { session_id: string; port: number }[];
    };
    const [ending] = status.sessions;
    const ended = await request(`${fx.tg.origin}/sessions/${ending!.session_id}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    assert.equal(await statusOrErrorCode(`http://127.0.0.1:${ending!.port}/console/${ending!.session_id}/`), 'ECONNREFUSED', 'the port is closed');

    // The link that met a full range was not used up: it opens now that a port is free.
    const fourth = await redeem(busyLink);
    assert.equal(fourth.statusCode, 302);
    assert.equal(portOf(fourth.location!), ending!.port, 'the freed port serves the next session');
  });

  it('stops accepting on session ports too when the gateway shuts down, while open consoles carry on', async () => {
    // Both ports are taken by now: end one session to free one.
    const status = (await (await request(`${fx.tg.origin}/status`, { headers: { authorization: fx.tg.secret } })).body.json()) as { sessions: { session_id: string }[] };
    const ended = await request(`${fx.tg.origin}/sessions/${status.sessions[0]!.session_id}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    await ended.body.dump();
    const { location, cookie } = await open();
    const origin = new URL(location!).origin;
    const viewer = await openConsoleSocket(`${location!.replace('http:', 'ws:')}websocket`, { origin, cookie: cookie! });
    assert.equal((await viewer.client!.handshake({})).securityResult, 0);
    assert.equal(await statusOrErrorCode(location!, { cookie: cookie! }), 200, 'listening before');

    const closing = fx.tg.gateway.close(2_000);
    assert.equal(await statusOrErrorCode(location!, { cookie: cookie! }), 'ECONNREFUSED', 'no newcomers during the drain');
    viewer.client!.typeText('still on');
    await poll(async () => fx.sim.received(100).text, (text) => text.includes('still on'), 'keys from the open console at the guest', 5_000);
    await closing;
  });
});
