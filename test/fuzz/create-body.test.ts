import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { isHostName } from '../../src/config/schema.js';
import type { ProxmoxErrorCode } from '../../src/proxmox/errors.js';
import { startFuzzGateway, type FuzzGateway } from './gateway-fixture.js';
import { fuzz } from './support.js';

/**
 * Answers in the 5xx range that are no fault of the gateway's: Proxmox (here the simulator) said
 * no, or was not there. A near-valid body reaches it, and then these are the contract (DESIGN.md).
 */
const UPSTREAM_CODES = new Set<ProxmoxErrorCode>([
  'proxmox_auth_failed',
  'guest_not_found',
  'guest_not_running',
  'permission_denied',
  'proxmox_unreachable',
  'tls_verification_failed',
  'node_not_found',
  'xterm_requires_password',
  'serial_not_configured',
  'proxmox_timeout',
  'proxmox_error',
]);

const KNOWN_KEYS = ['hostname', 'port', 'vmid', 'node', 'username', 'password', 'api_token', 'type', 'console', 'serial', 'fingerprint', 'ttl', 'max_duration', 'view_only', 'title', 'validate'];

/** Values of every JSON type, and the strings a lenient parser might take for numbers or booleans. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('100', ' 100 ', '1e3', '-1', '0x10', '65536', '8006', 'true', 'yes', 'off', '', ' ', 'null', 'qemu', 'lxc', 'xterm', 'novnc', 'serial1', 'pve1'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.integer({ min: 1, max: 2000 }).map((n) => 'x'.repeat(n)),
);

/** A typo of a known key: a letter dropped, doubled or changed, or the case changed. */
const typoKey = fc.tuple(fc.constantFrom(...KNOWN_KEYS), fc.nat(), fc.constantFrom('drop', 'double', 'swap', 'upper')).map(([key, at, kind]) => {
  const i = at % key.length;
  if (kind === 'drop') return key.slice(0, i) + key.slice(i + 1);
  if (kind === 'double') return key.slice(0, i) + key[i] + key.slice(i);
  if (kind === 'swap') return key.slice(0, i) + 'q' + key.slice(i + 1);
  return key.toUpperCase();
});

/**
 * Keeps the gateway off the network: a host name would be looked up in DNS and an address outside
 * loopback dialled, for every such case. Those stay possible, but as loopback addresses and names
 * made invalid, which exercise the same checks.
 */
function offline(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const host = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) return host.startsWith('127.') || host === '::1' ? value : '127.0.0.3';
  return isHostName(host) ? `${value}!` : value;
}

type Params = Record<string, unknown>;

const hex = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength });

const PASSWORD_MARK = 'fuzzpw-';
const TOKEN_SECRET_MARK = 'fuzzsecret';

/** The simulator's valid params, with a few fields dropped, changed, mistyped or added. */
function nearValid(base: Params): fc.Arbitrary<Params> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), key: fc.constantFrom(...KNOWN_KEYS) }),
    fc.record({ kind: fc.constant('set' as const), key: fc.oneof(fc.constantFrom(...KNOWN_KEYS), typoKey, fc.string({ maxLength: 12 })), value: anyValue }),
    // Credentials the logs must never show, marked so that a leak is found wherever it lands.
    fc.record({ kind: fc.constant('set' as const), key: fc.constant('password'), value: hex(8, 16).map((h) => `${PASSWORD_MARK}${h}`) }),
    fc.record({ kind: fc.constant('set' as const), key: fc.constant('api_token'), value: hex(8, 36).map((h) => `vncuser@pve!console=${TOKEN_SECRET_MARK}${h}`) }),
    // Values that pass: these make cases that go all the way to the simulator, or to a token.
    fc.record({
      kind: fc.constant('set' as const),
      key: fc.constantFrom('validate', 'view_only', 'console', 'ttl', 'title', 'type', 'vmid'),
      value: fc.constantFrom('false', false, 'true', 'xterm', 60, '30', 'Customer #1', 'qemu', 'lxc', '101', '200', '999'),
    }),
  );
  return fc.array(edit, { maxLength: 4 }).map((edits) => {
    const params: Params = { ...base };
    for (const e of edits) {
      if (e.kind === 'drop') delete params[e.key];
      else params[e.key] = e.key === 'hostname' ? offline(e.value) : e.value;
    }
    return params;
  });
}

/** Any JSON at all for the params: objects of random keys, arrays, scalars. */
const garbageParams: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 8 })), anyValue.map(offline), { maxKeys: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
);

interface Body {
  contentType: string;
  payload: string;
}

function paramsJson(base: Params): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: nearValid(base).map((p) => JSON.stringify(p)) },
    { weight: 1, arbitrary: garbageParams.map((p) => JSON.stringify(p)) },
    // Broken JSON: cut short, or text that is not JSON at all.
    { weight: 1, arbitrary: fc.tuple(nearValid(base), fc.nat()).map(([p, n]) => JSON.stringify(p).slice(0, n % 60)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
}

function jsonBody(base: Params): fc.Arbitrary<Body> {
  const contentType = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON') },
    { weight: 1, arbitrary: fc.constantFrom('application/json;charset=latin1', 'application/vnd.api+json', 'application/jsonx', 'application/json; boundary=x') },
  );
  return fc.record({ contentType, payload: paramsJson(base) });
}

const formField = fc.tuple(fc.oneof(fc.constantFrom(...KNOWN_KEYS, 'params'), typoKey, fc.string({ maxLength: 8 })), fc.string({ unit: 'binary', maxLength: 30 }));

function urlencodedBody(base: Params): fc.Arbitrary<Body> {
  const payload = fc.oneof(
    // The original's form: one `params` field holding JSON, maybe with more fields beside it.
    fc.tuple(paramsJson(base), fc.array(formField, { maxLength: 3 })).map(([json, extra]) => new URLSearchParams([['params', json] as [string, string], ...extra]).toString()),
    // Field by field, as curl --data sends it.
    nearValid(base).map((p) => new URLSearchParams(Object.entries(p).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : String(JSON.stringify(v))])).toString()),
    // Escapes that are not: a lone %, %zz, %ff (not UTF-8), and raw text.
    fc.array(fc.oneof(fc.constantFrom('%', '%zz', '%ff', '%00', '%C3%28', '&', '=', '+', 'params=', '%7B'), fc.string({ maxLength: 6 })), { maxLength: 12 }).map((p) => p.join('')),
  );
  const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED');
  return fc.record({ contentType, payload });
}

/** Characters RFC 2046 allows in a boundary. */
const boundary = fc.string({ unit: fc.constantFrom(...'abcXYZ0129\'()+_,-./:=?'), minLength: 1, maxLength: 70 });

function multipartBody(base: Params): fc.Arbitrary<Body> {
  const part = fc.oneof(
    { weight: 3, arbitrary: paramsJson(base).map((json) => ({ headers: 'Content-Disposition: form-data; name="params"', value: json })) },
    { weight: 2, arbitrary: formField.map(([name, value]) => ({ headers: `Content-Disposition: form-data; name="${name}"`, value })) },
    { weight: 1, arbitrary: fc.constant({ headers: 'Content-Disposition: form-data; name="params"; filename="p.json"\r\nContent-Type: application/json', value: '{}' }) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 })).map(([headers, value]) => ({ headers, value })) },
  );
  const tail = fc.constantFrom('--\r\n', '--', '\r\n', '', '--\r\n\r\ntrailing');
  const wellFormed = fc.tuple(boundary, fc.array(part, { minLength: 1, maxLength: 4 }), tail).map(([b, parts, end]) => ({
    boundary: b,
    payload: `${parts.map((p) => `--${b}\r\n${p.headers}\r\n\r\n${p.value}\r\n`).join('')}--${b}${end}`,
  }));
  const cutShort = fc.tuple(wellFormed, fc.nat()).map(([body, n]) => ({ boundary: body.boundary, payload: body.payload.slice(0, n % (body.payload.length + 1)) }));
  const noise = fc.tuple(boundary, fc.string({ unit: 'binary', maxLength: 120 })).map(([b, payload]) => ({ boundary: b, payload }));
  return fc.tuple(fc.oneof({ weight: 3, arbitrary: wellFormed }, cutShort, noise), fc.constantFrom('exact', 'exact', 'exact', 'quoted', 'other', 'missing', 'empty')).map(([body, header]) => {
    const param = { exact: `; boundary=${body.boundary}`, quoted: `; boundary="${body.boundary}"`, other: '; boundary=not-the-one', missing: '', empty: '; boundary=' }[header];
    return { contentType: `multipart/form-data${param}`, payload: body.payload };
  });
}

/**
 * Cases per encoding in npm test: 3,000 bodies in all, at about 3 ms each of the one core the
 * gateway and the simulator share here. `npm run fuzz` scales it as every count: 50,000 each.
 */
const CREATE_RUNS = 1000;

describe('fuzzing /create bodies against a gateway in front of the simulator', () => {
  let fg: FuzzGateway;
  before(async () => {
    fg = await startFuzzGateway();
  });
  after(async () => {
    await fg?.stop();
  });

  /** One /create; every answer is checked the same way, whatever the encoding. */
  async function post(body: Body, withSecret: boolean): Promise<void> {
    const answer = await request(`${fg.tg.origin}/create`, {
      method: 'POST',
      headers: { 'content-type': body.contentType, ...(withSecret ? { authorization: fg.tg.secret } : {}) },
      body: body.payload,
    });
    const text = await answer.body.text();
    const status = answer.statusCode;
    const shown = `${status} for ${body.contentType}: ${JSON.stringify(body.payload.slice(0, 300))} -> ${text.slice(0, 300)}`;
    let json: { status?: string; error?: string; token?: string } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      assert.fail(`not the API's JSON: ${shown}`);
    }
    if (!withSecret) assert.equal(status, 401, shown);
    if (status === 200) {
      assert.equal(json.status, 'success', shown);
      // Links made by the fuzzing are taken back: the heap check would count them otherwise.
      const revoked = await request(`${fg.tg.origin}/tokens/${json.token}`, { method: 'DELETE', headers: { authorization: fg.tg.secret } });
      await revoked.body.dump();
      assert.equal(revoked.statusCode, 200);
      fg.checkLogs([PASSWORD_MARK, TOKEN_SECRET_MARK, json.token!]);
      return;
    }
    assert.equal(json.status, 'error', shown);
    assert.equal(typeof json.error, 'string', shown);
    assert.ok(status < 500 || ((status === 502 || status === 504) && UPSTREAM_CODES.has(json.error as ProxmoxErrorCode)), shown);
    fg.checkLogs([PASSWORD_MARK, TOKEN_SECRET_MARK]);
  }

  const encodings: [string, (base: Params) => fc.Arbitrary<Body>][] = [
    ['multipart/form-data', multipartBody],
    ['application/x-www-form-urlencoded', urlencodedBody],
    ['application/json', jsonBody],
  ];
  for (const [name, bodies] of encodings) {
    it(`never answers ${name} bodies with a 5xx of its own, and keeps every other console streaming`, async () => {
      fg.streaming.mark();
      await fuzz(
        fc.asyncProperty(bodies(fg.params), fc.integer({ min: 0, max: 19 }), (body, roll) => post(body, roll !== 0)),
        CREATE_RUNS,
      );
      await fg.assertHealthy();
    });
  }
});
