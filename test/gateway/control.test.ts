import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { request } from 'undici';
import { createToken, freePort, openConsoleSocket, redeem, startTestGateway } from '../helpers/gateway.js';
import { multipartForm } from '../helpers/multipart.js';
import { poll } from '../helpers/poll.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';
import { requireExecutable } from '../helpers/system.js';

const run = promisify(execFile);

describe('control API', () => {
  const fx = useSimAndGateway({}, { durations: { loginFailureDelayMs: 50 } });

  const post = (headers: Record<string, string>, body: string | Buffer) =>
    request(`${fx.tg.origin}/create`, { method: 'POST', headers, body });
  const postForm = (fields: Record<string, string>) => {
    const form = multipartForm(fields);
    return post({ authorization: fx.tg.secret, 'content-type': form.contentType }, form.body);
  };

  it('refuses a missing or wrong secret with 401 and accepts the bare and the Bearer form', async () => {
    for (const authorization of [undefined, 'wrong', `Bearer ${fx.tg.secret}x`]) {
      const answer = await request(`${fx.tg.origin}/status`, { headers: authorization ? { authorization } : {} });
      assert.equal(answer.statusCode, 401);
      assert.deepEqual(await answer.body.json(), { status: 'error', error: 'unauthorized', message: 'missing or wrong Authorization header' });
    }
    for (const authorization of [fx.tg.secret, `Bearer ${fx.tg.secret}`]) {
      const answer = await request(`${fx.tg.origin}/status`, { headers: { authorization } });
      assert.equal(answer.statusCode, 200);
      await answer.body.dump();
    }
  });

  it('answers GET / with 401 as the original did, and /healthz without auth', async () => {
    const root = await request(`${fx.tg.origin}/`);
    assert.equal(root.statusCode, 401);
    await root.body.dump();
    const health = await request(`${fx.tg.origin}/healthz`);
    assert.equal(health.statusCode, 200);
    assert.deepEqual(await health.body.json(), { status: 'ok' });
  });

  it("accepts the original README's multipart form with string values", async () => {
    const answer = await postForm({ params: JSON.stringify(fx.params) });
    const body = (await answer.body.json()) as Record<string, string>;
    assert.equal(answer.statusCode, 200, JSON.stringify(body));
    assert.equal(body.status, 'success');
    assert.match(body.token ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(body.url, `${fx.tg.origin}/vnc/${body.token}`);
    // The test gateway listens on port 0: its links name the port it was given.
    assert.equal(new URL(body.url!).port, String((fx.tg.gateway.app.server.address() as { port: number }).port));
    const expires = Date.parse(body.expires_at ?? '');
    assert.ok(expires > Date.now() + 250_000 && expires <= Date.now() + 300_000, body.expires_at);
  });

  it("works with the original README's curl command, only its values changed", async () => {
    const curl = requireExecutable('curl', 'curl');
    const params = JSON.stringify(fx.params);
    const { stdout } = await run(curl, ['-sS', '-X', 'POST', `${fx.tg.origin}/create`, '-H', `Authorization: ${fx.tg.secret}`, '-F', `params=${params}`]);
    const body = JSON.parse(stdout) as Record<string, string>;
    assert.equal(body.status, 'success', stdout);
    assert.equal(body.url, `${fx.tg.origin}/vnc/${body.token}`);
  });

  it('accepts urlencoded params and a JSON body, numbers as numbers', async () => {
    const urlencoded = await post(
      { authorization: fx.tg.secret, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ params: JSON.stringify(fx.params) }).toString(),
    );
    assert.equal(urlencoded.statusCode, 200, await urlencoded.body.text());
    const json = await createToken(fx.tg, { ...fx.params, port: fx.sim.port, vmid: 100 });
    assert.equal(json.statusCode, 200, JSON.stringify(json.body));
  });

  it('names every bad field with 400 invalid_params', async () => {
    const answer = await createToken(fx.tg, { hostname: 'bad host!', port: '70000', vmid: 'abc', node: 'pve1;rm', username: 'vncuser@pve', password: 'vncpass', console: 'spice' });
    assert.equal(answer.statusCode, 400);
    assert.equal(answer.body.error, 'invalid_params');
    const fields = answer.body.fields as Record<string, string>;
    assert.deepEqual(Object.keys(fields).sort(), ['console', 'hostname', 'node', 'port', 'vmid']);
    const missing = await createToken(fx.tg, { vmid: 100 });
    assert.deepEqual(Object.keys(missing.body.fields as object).sort(), ['hostname', 'password', 'username']);
    const notJson = await post({ authorization: fx.tg.secret, 'content-type': 'application/x-www-form-urlencoded' }, 'params=%7Bnot-json');
    assert.equal(notJson.statusCode, 400);
    assert.deepEqual(((await notJson.body.json()) as { fields: object }).fields, { params: 'must be a JSON object' });
  });

  it('refuses a parameter it does not know, naming it and the one probably meant (a typo must not give full control)', async () => {
    const typo = await createToken(fx.tg, { ...fx.params, view_onyl: 'true' });
    assert.equal(typo.statusCode, 400);
    assert.equal(typo.body.error, 'invalid_params');
    assert.deepEqual(typo.body.fields, { view_onyl: 'is not a parameter of /create; did you mean "view_only"?' });
    const stranger = await createToken(fx.tg, { ...fx.params, [`x${'y'.repeat(5000)}`]: 1 });
    const [name, problem] = Object.entries(stranger.body.fields as Record<string, string>)[0]!;
    assert.equal(name.length, 65, 'a long name is shown cut');
    assert.equal(problem, 'is not a parameter of /create');
    // A form field beside params is read by nobody either.
    const beside = await postForm({ params: JSON.stringify(fx.params), view_only: 'true' });
    assert.equal(beside.statusCode, 400);
    assert.deepEqual(((await beside.body.json()) as { fields: object }).fields, { view_only: 'is not read beside params; put it inside params' });
  });

  it('answers malformed bodies of every accepted media type with 400 and a JSON error, never 500', async () => {
    const cases: [string, string][] = [
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="params"\r\n\r\n{"vmid":1'],
      ['multipart/form-data; boundary=x', 'no boundary anywhere'],
      ['multipart/form-data; boundary=x', '--x\r\nbroken header line\r\n\r\nvalue\r\n--x--\r\n'],
      ['multipart/form-data', '--x\r\n'],
      ['application/json', '{"params":'],
      ['application/json', '\u0000\u00ff'],
      ['application/x-www-form-urlencoded', '%zz=%%&params'],
    ];
    for (const [contentType, body] of cases) {
      const res = await post({ authorization: fx.tg.secret, 'content-type': contentType }, body);
      const answer = (await res.body.json()) as { status: string; error: string; message: string };
      assert.equal(res.statusCode, 400, `${contentType}: ${JSON.stringify(body)} gave ${res.statusCode} ${JSON.stringify(answer)}`);
      assert.equal(answer.status, 'error');
      assert.match(answer.error, /^invalid_(request|params)$/);
    }
    assert.equal((await createToken(fx.tg, fx.params)).statusCode, 200, 'the gateway still serves');
  });

  it("answers the framework's own refusals in the API's shape, without echoing the URL (issue 12, finding 9)", async () => {
    const port = Number(new URL(fx.tg.origin).port);
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        socket.on('close', () => resolve(answer));
        socket.on('error', () => resolve(answer));
        socket.write(text);
        setTimeout(() => socket.destroy(), 1_000);
      });
    const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    const badUrl = await raw('GET /console/%E0%A4%A/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(badUrl, /^HTTP\/1\.1 400 /);
    assert.deepEqual(bodyOf(badUrl), { status: 'error', error: 'invalid_request', message: 'the request URL is not valid' });
    for (const tooLarge of [`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]) {
      const answer = await raw(tooLarge);
      assert.match(answer, /^HTTP\/1\.1 431 /);
      assert.equal(bodyOf(answer).error, 'headers_too_large');
      assert.doesNotMatch(answer, /aaaa/);
    }
  });

  it('answers an unknown path 404 in the API\'s shape whatever its body, even one the framework refuses', async () => {
    for (const path of ['/links', '/sessions/../links', '/console/abc/']) {
      for (const [type, body] of [['application/json', ''], ['application/json', '{not json'], ['text/plain', 'x']] as const) {
        const answer = await request(`${fx.tg.origin}${path}`, { method: 'POST', headers: { 'content-type': type, authorization: fx.tg.secret }, body });
        assert.equal(answer.statusCode, 404, `${path} ${type} ${JSON.stringify(body)}`);
        assert.deepEqual(await answer.body.json(), { status: 'error', error: 'not_found', message: 'no such route' });
      }
    }
  });

  it('authenticates before it parses a body: an empty JSON body without the secret gets 401', async () => {
    const answer = await request(`${fx.tg.origin}/sessions/${'A'.repeat(22)}`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: '' });
    assert.equal(answer.statusCode, 401);
    assert.equal(((await answer.body.json()) as { error: string }).error, 'unauthorized');
    const broken = await post({ 'content-type': 'application/json' }, '{not json');
    assert.equal(broken.statusCode, 401, 'a broken body is not even read without the secret');
    await broken.body.dump();
  });

  it('answers 413 for bodies over 64 KiB, 415 for other media types, 405 for other methods', async () => {
    const big = JSON.stringify({ ...fx.params, title: 'x'.repeat(70_000) });
    const jsonTooBig = await post({ authorization: fx.tg.secret, 'content-type': 'application/json' }, big);
    assert.equal(jsonTooBig.statusCode, 413);
    assert.equal(((await jsonTooBig.body.json()) as { error: string }).error, 'payload_too_large');
    const multipartTooBig = await postForm({ params: big });
    assert.equal(multipartTooBig.statusCode, 413);
    await multipartTooBig.body.dump();
    const text = await post({ authorization: fx.tg.secret, 'content-type': 'text/plain' }, 'hello');
    assert.equal(text.statusCode, 415);
    assert.equal(((await text.body.json()) as { error: string }).error, 'unsupported_media_type');
    const get = await request(`${fx.tg.origin}/create`, { headers: { authorization: fx.tg.secret } });
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, 'POST');
    await get.body.dump();
  });

  it('reports Proxmox-side problems with stable codes and never echoes the password', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ password: 'not-the-password' }, 502, 'proxmox_auth_failed'],
      [{ username: 'auditor@pve', password: 'auditpass' }, 502, 'permission_denied'],
      [{ vmid: '999' }, 502, 'guest_not_found'],
      [{ vmid: '101' }, 502, 'guest_not_running'],
      [{ node: 'pve9', vmid: '999' }, 502, 'node_not_found'],
      [{ fingerprint: 'AB'.repeat(32) }, 502, 'tls_verification_failed'],
      [{ hostname: '127.0.0.3', port: String(await freePort('127.0.0.3')) }, 502, 'proxmox_unreachable'],
    ];
    for (const [override, status, code] of cases) {
      const answer = await createToken(fx.tg, { ...fx.params, ...override });
      assert.equal(answer.statusCode, status, `${code}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.status, 'error');
      assert.equal(answer.body.error, code);
      assert.equal(typeof answer.body.message, 'string');
      const text = JSON.stringify(answer.body);
      assert.ok(!text.includes('vncpass') && !text.includes('not-the-password') && !text.includes('auditpass'), text);
    }
  });

  it('answers 504 proxmox_timeout when Proxmox is too slow', async () => {
    const slow = await startTestGateway({ PROXMOXVNC_PROXMOX_TIMEOUT: '1' }, fx.sim.caPem);
    fx.sim.setFaults({ delayMs: 1500 });
    try {
      const answer = await createToken(slow, fx.params);
      assert.equal(answer.statusCode, 504, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'proxmox_timeout');
    } finally {
      fx.sim.setFaults({ delayMs: 0 });
      await slow.stop();
    }
  });

  it('finds the node when it is omitted, and detects the guest type', async () => {
    const { node: _node, ...withoutNode } = fx.params;
    const answer = await createToken(fx.tg, withoutNode);
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
  });

  it('accepts an API token instead of a password', async () => {
    const { username: _u, password: _p, ...rest } = fx.params;
    const answer = await createToken(fx.tg, { ...rest, api_token: 'vncuser@pve!console=11111111-2222-3333-4444-555555555555' });
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
  });

  it('with validate false checks nothing and hands out a token', async () => {
    const answer = await createToken(fx.tg, { ...fx.params, password: 'wrong-but-unchecked', validate: 'false' });
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
  });

  it('keeps per-token limits within the configured maxima', async () => {
    const answer = await createToken(fx.tg, { ...fx.params, ttl: 100_000, max_duration: 10_000_000 });
    assert.equal(answer.statusCode, 400);
    assert.deepEqual(Object.keys(answer.body.fields as object).sort(), ['max_duration', 'ttl']);
  });

  it('revokes a pending token and ends a session on request', async () => {
    const created = await createToken(fx.tg, fx.params);
    const token = created.body.token as string;
    const revoke = await request(`${fx.tg.origin}/tokens/${token}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    assert.equal(revoke.statusCode, 200);
    await revoke.body.dump();
    const again = await request(`${fx.tg.origin}/tokens/${token}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    assert.equal(again.statusCode, 404);
    await again.body.dump();
    const opened = await request(`${fx.tg.origin}/vnc/${token}`);
    assert.equal(opened.statusCode, 404);
    await opened.body.dump();

    const live = await createToken(fx.tg, fx.params);
    const redeemed = await request(live.body.url as string);
    const sessionId = /\/console\/([^/]+)\//.exec(String(redeemed.headers.location))?.[1];
    await redeemed.body.dump();
    assert.ok(sessionId);
    const end = await request(`${fx.tg.origin}/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: fx.tg.secret } });
    assert.equal(end.statusCode, 200);
    await end.body.dump();
    assert.equal(await fx.tg.gateway.sessions.get(sessionId), null);
  });

  it("reports sessions in /status in the original's shape, without credentials", async () => {
    const created = await createToken(fx.tg, fx.params);
    const redeemed = await request(created.body.url as string);
    await redeemed.body.dump();
    const answer = await request(`${fx.tg.origin}/status`, { headers: { authorization: fx.tg.secret } });
    const status = (await answer.body.json()) as Record<string, unknown> & { sessions: Record<string, unknown>[] };
    for (const key of ['total_sessions', 'pending_tokens', 'sessions_created', 'sessions_active', 'sessions_disconnected']) {
      assert.equal(typeof status[key], 'number', key);
    }
    const entry = status.sessions.find((s) => String(redeemed.headers.location).includes(String(s.session_id)));
    assert.ok(entry, 'the redeemed session is listed');
    for (const key of ['key', 'session_id', 'url', 'node', 'vmid', 'created_at', 'port', 'status', 'age', 'type', 'console', 'viewers']) {
      assert.ok(key in entry, key);
    }
    assert.equal(entry.status, 'created');
    assert.equal(entry.vmid, '100');
    assert.equal(entry.node, 'pve1');
    assert.equal(entry.type, 'qemu');
    assert.equal(entry.url, `${fx.tg.origin}/console/${entry.session_id}/`);
    const text = JSON.stringify(status);
    assert.ok(!/vncpass|PVE:|PVEVNC|CSRF/i.test(text), text);
  });

  it('exports Prometheus metrics: tokens, and sessions by state, console kind and guest type', async () => {
    const created = await createToken(fx.tg, fx.params);
    const redeemed = await request(created.body.url as string);
    await redeemed.body.dump();
    const answer = await request(`${fx.tg.origin}/metrics`);
    assert.equal(answer.statusCode, 200);
    assert.match(String(answer.headers['content-type']), /^text\/plain/);
    const text = await answer.body.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    assert.ok(value(/^proxmoxvnc_tokens_created_total (\d+)$/m) >= 1, text);
    assert.ok(value(/^proxmoxvnc_tokens_redeemed_total (\d+)$/m) >= 1);
    assert.ok(value(/^proxmoxvnc_sessions\{state="created",console="novnc",type="qemu"\} (\d+)$/m) >= 1);
    assert.ok(value(/^proxmoxvnc_proxmox_errors_total\{code="proxmox_auth_failed"\} (\d+)$/m) >= 1);
    assert.doesNotMatch(text, new RegExp(String(created.body.token)));
    // Proxmox call latency, by route (node and guest left out) and outcome.
    assert.ok(value(/^proxmoxvnc_proxmox_call_seconds_count\{route="\/access\/ticket",outcome="ok"\} (\d+)$/m) >= 1, text);
    assert.ok(value(/^proxmoxvnc_proxmox_call_seconds_count\{route="\/access\/ticket",outcome="proxmox_auth_failed"\} (\d+)$/m) >= 1);
    assert.ok(value(/^proxmoxvnc_proxmox_call_seconds_count\{route="\/cluster\/resources",outcome="ok"\} (\d+)$/m) >= 1);
    assert.doesNotMatch(text, /route="[^"]*(pve1|\/100\/)/, 'no node name or vmid in a label');
  });

  it('counts a console that fails to open in proxmox_errors_total, and times the websocket dial', async () => {
    const errors = async () => {
      const text = await (await request(`${fx.tg.origin}/metrics`)).body.text();
      return { text, failed: Number(/^proxmoxvnc_proxmox_errors_total\{code="proxmox_auth_failed"\} (\d+)$/m.exec(text)?.[1] ?? 0) };
    };
    const before = await errors();
    // Not checked at /create: the wrong password is found when the console opens.
    const created = await createToken(fx.tg, { ...fx.params, password: 'wrong', validate: 'false' });
    const { location, cookie } = await redeem(created.body.url as string);
    const opened = await openConsoleSocket(`${fx.tg.origin.replace('http:', 'ws:')}${location!}websocket`, { origin: fx.tg.origin, cookie: cookie! });
    // The browser's half of the handshake: the failure comes as its SecurityResult.
    const refused = await opened.client!.handshake({}).catch((error: Error) => error);
    assert.ok(refused instanceof Error || refused.securityResult !== 0, 'the console did not open');
    // Counted once the bridge has returned, a moment after the browser's socket closed.
    await poll(async () => (await errors()).failed, (n) => n === before.failed + 1, 'the failed opening counted');
    const good = await redeem((await createToken(fx.tg, fx.params)).body.url as string);
    const viewer = await openConsoleSocket(`${fx.tg.origin.replace('http:', 'ws:')}${good.location!}websocket`, { origin: fx.tg.origin, cookie: good.cookie! });
    assert.equal((await viewer.client!.handshake({})).securityResult, 0);
    viewer.ws!.close();
    assert.match((await errors()).text, /^proxmoxvnc_proxmox_call_seconds_count\{route="\/nodes\/\{node\}\/qemu\/\{vmid\}\/vncwebsocket",outcome="ok"\} [1-9]/m);
  });
});
