// POST /sessions/<id>/links with any body and any session id in the path: the answer is always the
// API's JSON, 2xx only for a valid request on a live session, never a 500, and every link made is
// a shared link of that session and no more than asked (view-only unless view_only was false).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { startFuzzGateway, type ConsoleSession, type FuzzGateway } from './gateway-fixture.js';
import { fuzz } from './support.js';

const KNOWN_KEYS = ['view_only', 'ttl'];

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('true', 'false', 'yes', 'off', '0', '1', '60', ' 60 ', '1e3', '-1', '300', '301', '', 'null'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

const params = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 10 })), anyValue, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A body in one of the forms /create takes, or none, or one that is not what it says. */
const body = fc.oneof(
  params.map((p) => ({ contentType: 'application/json', payload: JSON.stringify(p), params: p })),
  params.map((p) => ({ contentType: 'application/x-www-form-urlencoded', payload: new URLSearchParams({ params: JSON.stringify(p) }).toString(), params: p })),
  fc.string({ unit: 'binary', maxLength: 40 }).map((payload) => ({ contentType: 'application/json', payload })),
  fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x').map((contentType) => ({ contentType, payload: '' })),
  fc.constant(undefined),
);

describe('fuzzing POST /sessions/<id>/links', () => {
  let fg: FuzzGateway;
  let live: ConsoleSession;
  before(async () => {
    fg = await startFuzzGateway();
    live = await fg.openSession();
  });
  after(async () => {
    await fg?.stop();
  });

  it('answers every body and path with a 4xx or a link of the live session, never a 5xx', async () => {
    // Not '.' or '..' (or their escapes): a URL parser takes those for a path step, and the request goes elsewhere.
    const ids = fc
      .oneof({ weight: 3, arbitrary: fc.constant('live') }, fc.constantFrom('A'.repeat(22), 'x', 'a/b', '%41'), fc.string({ maxLength: 30 }))
      .filter((id) => !/^(\.|%2e){1,2}$/i.test(encodeURIComponent(id)));
    const made: string[] = [];
    await fuzz(
      fc.asyncProperty(ids, body, async (id, sent) => {
        const path = id === 'live' ? live.id : encodeURIComponent(id);
        const answer = await request(`${fg.tg.origin}/sessions/${path}/links`, {
          method: 'POST',
          headers: { authorization: fg.tg.secret, ...(sent ? { 'content-type': sent.contentType } : {}) },
          ...(sent ? { body: sent.payload } : {}),
        });
        const text = await answer.body.text();
        const shown = `${answer.statusCode} for ${path} ${JSON.stringify(sent)} -> ${text.slice(0, 300)}`;
        assert.ok(answer.statusCode < 500, shown);
        const json = JSON.parse(text) as { status?: string; token?: string; session_id?: string; view_only?: boolean };
        if (answer.statusCode !== 200) return assert.equal(json.status, 'error', shown);
        assert.equal(json.session_id, live.id, shown);
        made.push(json.token!);
        // Full control only when the body said so: a missing or unreadable view_only is never a yes.
        const asked = sent && 'params' in sent ? (sent.params as { view_only?: unknown }).view_only : undefined;
        if (json.view_only === false) assert.ok(asked !== undefined && /^(false|0|no|off)$/i.test(String(asked).trim()), `full control only when asked: ${shown}`);
        // Links made by the fuzzing are taken back: the heap check would count them otherwise.
        const revoked = await request(`${fg.tg.origin}/tokens/${json.token}`, { method: 'DELETE', headers: { authorization: fg.tg.secret } });
        await revoked.body.dump();
        assert.equal(revoked.statusCode, 200);
      }),
      500,
    );
    assert.ok(made.length > 0, 'some cases made a link');
    fg.checkLogs(made);
    await fg.assertHealthy();
  });
});
