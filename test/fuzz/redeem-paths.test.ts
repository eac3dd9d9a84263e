import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { createToken } from '../helpers/gateway.js';
import { startFuzzGateway, type FuzzGateway } from './gateway-fixture.js';
import { fuzz } from './support.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const shaped = (length: number) => fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: length, maxLength: length });

/** Text for a path or query: the characters a URL may carry raw, escapes true and false, and runs of both. */
const urlText = fc
  .array(
    fc.oneof(
      fc.string({ unit: fc.constantFrom(...`${BASE64URL}.~!$&'()*+,;=:@`), maxLength: 8 }),
      fc.constantFrom('%', '%zz', '%ff', '%00', '%2F', '%2f', '%2e%2e', '..', '.', '/', '//', '%C3%28', '%E0%A4%A', '%0D%0A', '#', '?', '%3F', '\\', '"', '<script>'),
      fc.string({ unit: 'binary', maxLength: 6 }).map(encodeURIComponent),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

/** What a case sends: which path, and who it claims to be. */
interface Visit {
  method: 'GET' | 'HEAD';
  path: string;
  cookie?: string;
  /** The path holds a live token made for this case. */
  liveToken?: string;
}

describe('fuzzing the redemption and console paths', () => {
  let fg: FuzzGateway;
  before(async () => {
    fg = await startFuzzGateway();
  });
  after(async () => {
    await fg?.stop();
  });

  /** `live` marks where a fresh token goes: made at run time, so fast-check never shrinks it. */
  const LIVE = '\u0000live\u0000';

  function visits(): fc.Arbitrary<Visit> {
    const segment = fc.oneof(shaped(43), shaped(22), fc.constant(fg.own.id), fc.constant(LIVE), urlText);
    const path = fc.oneof(
      segment.map((s) => `/vnc/${s}`),
      fc.tuple(segment, fc.constantFrom('', '/', '/state', '/websocket', '/state/', '/x')).map(([s, rest]) => `/console/${s}${rest}`),
      fc.tuple(fc.constantFrom('/vnc', '/console', '/', '//vnc/', '/%2e%2e/vnc/', '/console/../vnc/', '/VNC/', '/vnc//'), urlText).map(([start, rest]) => start + rest),
    );
    const query = fc.oneof(fc.constant(''), urlText.map((q) => `?${q}`), fc.constantFrom('?token=x', '?a=1&a=2', '?', '??'));
    const cookieText = fc.string({ unit: fc.constantFrom(...`${BASE64URL} =;,"\\%`), maxLength: 40 });
    const ownCookie = fg.own.cookie;
    const cookie = fc.oneof(
      fc.constant(undefined),
      fc.constant(ownCookie),
      cookieText,
      cookieText.map((value) => `pvnc_session=${value}`),
      cookieText.map((other) => `${other}; ${ownCookie}`),
      fc.constant(`${ownCookie}; ${ownCookie}x`),
      fc.constant(`pvnc_session=; ${ownCookie}`),
    );
    return fc.record({ method: fc.constantFrom('GET' as const, 'GET' as const, 'GET' as const, 'HEAD' as const), path: fc.tuple(path, query).map(([p, q]) => p + q), cookie });
  }

  async function visit(planned: Visit): Promise<void> {
    let v = planned;
    if (v.path.includes(LIVE)) {
      const created = await createToken(fg.tg, { ...fg.params, validate: 'false' });
      const token = created.body.token as string;
      v = { ...v, path: v.path.replaceAll(LIVE, token), liveToken: token };
    }
    const answer = await request(`${fg.tg.origin}${v.path}`, { method: v.method, headers: v.cookie === undefined ? {} : { cookie: v.cookie } });
    await answer.body.dump();
    const status = answer.statusCode;
    const shown = `${status} for ${v.method} ${v.path} cookie ${JSON.stringify(v.cookie)}`;
    assert.ok(status < 500, shown);
    const location = String(answer.headers.location ?? '');
    const redeemed = status === 302 && v.liveToken !== undefined && v.path.startsWith(`/vnc/${v.liveToken}`);
    // Only a redemption sets a cookie, and only a redemption redirects to a session.
    assert.ok(redeemed || answer.headers['set-cookie'] === undefined, shown);
    assert.ok(redeemed || status !== 302, shown);
    if (redeemed) await fg.endSession(location.split('/')[2]!);
    else if (v.liveToken) {
      const revoked = await request(`${fg.tg.origin}/tokens/${v.liveToken}`, { method: 'DELETE', headers: { authorization: fg.tg.secret } });
      await revoked.body.dump();
    }
    // A console's page and state open only for its own id, with its own cookie.
    if (status === 200 && v.method === 'GET' && (v.path.startsWith('/console/') || v.path.startsWith('/vnc/'))) {
      assert.ok(v.path.startsWith(`/console/${fg.own.id}/`) && v.cookie?.includes(fg.own.cookie), shown);
    }
    fg.checkLogs(v.liveToken ? [v.liveToken] : []);
  }

  it('never answers with a 5xx, opens a console only for its own cookie, and keeps every other console streaming', async () => {
    fg.streaming.mark();
    await fuzz(fc.asyncProperty(visits(), visit));
    await fg.assertHealthy();
  });
});
