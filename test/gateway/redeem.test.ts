import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { createToken, openConsoleSocket, redeem } from '../helpers/gateway.js';
import { useSimAndGateway } from '../helpers/sim-gateway.js';

/** The HTTP status a websocket upgrade got (101 when it opened). */
async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const { status, ws } = await openConsoleSocket(url, headers);
  ws?.terminate();
  return status;
}

describe('redemption and the session page', () => {
  const fx = useSimAndGateway();

  it('redeems once: 302 to the console page with an HttpOnly cookie scoped to the session', async () => {
    const link = await fx.link();
    const first = await redeem(link);
    assert.equal(first.statusCode, 302);
    assert.match(first.location ?? '', /^\/console\/[A-Za-z0-9_-]{22}\/$/);
    const attributes = (first.setCookie ?? '').split(';').map((a) => a.trim().toLowerCase());
    assert.ok(attributes.includes('httponly'), first.setCookie);
    assert.ok(attributes.includes('samesite=lax'), first.setCookie);
    assert.ok(attributes.includes(`path=${first.location}`.toLowerCase()), first.setCookie);

    const second = await redeem(link);
    assert.equal(second.statusCode, 404);
    assert.match(second.body, /Invalid session\./);
    assert.equal(second.setCookie, undefined);
  });

  it('shows the Invalid session page for unknown and expired tokens', async () => {
    const unknown = await redeem(`${fx.tg.origin}/vnc/${'A'.repeat(43)}`);
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.body, /Invalid session\./);
    const garbage = await redeem(`${fx.tg.origin}/vnc/%3Cscript%3E`);
    assert.equal(garbage.statusCode, 404);
    assert.doesNotMatch(garbage.body, /<script>/);
    const malformed = await redeem(`${fx.tg.origin}/vnc/%ff%00`);
    assert.equal(malformed.statusCode, 400);
    const link = await fx.link({ ttl: '1' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const expired = await redeem(link);
    assert.equal(expired.statusCode, 404);
    assert.match(expired.body, /Invalid session\./);
  });

  it('does not redeem on HEAD', async () => {
    const link = await fx.link();
    const head = await request(link, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    await head.body.dump();
    assert.equal((await redeem(link)).statusCode, 302);
  });

  it('lets exactly one of many concurrent redemptions win (invariant 2)', async () => {
    const link = await fx.link();
    const results = await Promise.all(Array.from({ length: 50 }, () => redeem(link)));
    assert.equal(results.filter((r) => r.statusCode === 302).length, 1);
    assert.equal(results.filter((r) => r.statusCode === 404).length, 49);
  });

  it('makes tokens of at least 128 bits that never repeat (invariant 2)', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const created = await createToken(fx.tg, { ...fx.params, validate: 'false' });
      const token = created.body.token as string;
      assert.ok(Buffer.from(token, 'base64url').length * 8 >= 128, token);
      tokens.add(token);
    }
    assert.equal(tokens.size, 20);
  });

  it('opens nothing with the session URL alone: page, state and websocket need the cookie (invariant 4)', async () => {
    const { location, cookie } = await redeem(await fx.link());
    const pageUrl = `${fx.tg.origin}${location}`;
    const wsUrl = pageUrl.replace('http:', 'ws:') + 'websocket';

    const withCookie = await request(pageUrl, { headers: { cookie: cookie as string } });
    assert.equal(withCookie.statusCode, 200);
    assert.match(await withCookie.body.text(), /<html/i);

    for (const headers of [{}, { cookie: 'pvnc_session=forged-value' }] as Record<string, string>[]) {
      const page = await request(pageUrl, { headers });
      assert.equal(page.statusCode, 403);
      assert.doesNotMatch(await page.body.text(), /console-options/);
      const state = await request(`${pageUrl}state`, { headers });
      assert.equal(state.statusCode, 404);
      await state.body.dump();
      assert.equal(await upgradeStatus(wsUrl, { origin: fx.tg.origin, ...headers }), 403);
    }
    assert.equal(await upgradeStatus(wsUrl, { origin: 'https://evil.example', cookie: cookie as string }), 403);
    assert.equal(await upgradeStatus(wsUrl, { cookie: cookie as string }), 403);
    assert.equal(await upgradeStatus(wsUrl, { origin: fx.tg.origin, cookie: cookie as string }), 101);
  });

  it('completes a session URL without its final slash, and answers odd session ids with 404, never 500', async () => {
    const { location } = await redeem(await fx.link());
    assert.ok(location);
    const bare = await request(`${fx.tg.origin}${location.replace(/\/$/, '')}`);
    assert.equal(bare.statusCode, 301);
    assert.equal(bare.headers.location, location);
    await bare.body.dump();
    for (const id of ['%C3%94l%0E%C2%B6', 'a%0D%0ASet-Cookie:%20x=1', 'short', '..%2F..']) {
      for (const path of [`/console/${id}`, `/console/${id}/`, `/console/${id}/state`]) {
        const res = await request(`${fx.tg.origin}${path}`);
        assert.ok(res.statusCode === 403 || res.statusCode === 404, `${path}: ${res.statusCode}`);
        assert.equal(res.headers['set-cookie'], undefined);
        await res.body.dump();
      }
    }
  });

  it('sends the security headers on pages (invariant 6)', async () => {
    const { location, cookie } = await redeem(await fx.link());
    for (const [url, headers] of [
      [`${fx.tg.origin}${location}`, { cookie: cookie as string }],
      [`${fx.tg.origin}/vnc/${'B'.repeat(43)}`, {}],
    ] as const) {
      const page = await request(url, { headers });
      await page.body.dump();
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
    }
  });
});

describe('redemption when the gateway is full', () => {
  const fx = useSimAndGateway({ PROXMOXVNC_MAX_SESSIONS: '1' });

  it('says the service is busy without using the link up, and the same link works once a session ends', async () => {
    const { tg, params } = fx;
    const links = await Promise.all([createToken(tg, params), createToken(tg, params)]).then((all) => all.map((c) => c.body.url as string));
    const first = await redeem(links[0]!);
    assert.equal(first.statusCode, 302);
    const full = await redeem(links[1]!);
    assert.equal(full.statusCode, 503);
    assert.match(full.body, /busy/);
    const ended = await request(`${tg.origin}/sessions/${first.location!.split('/')[2]}`, { method: 'DELETE', headers: { authorization: tg.secret } });
    assert.equal(ended.statusCode, 200);
    await ended.body.dump();
    assert.equal((await redeem(links[1]!)).statusCode, 302, 'the link that met a full gateway opens now');
  });
});
