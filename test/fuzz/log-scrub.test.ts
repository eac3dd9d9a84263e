import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger, MAX_FIELD_CHARS, scrubSecrets, type LogFields, type LogOptions } from '../../src/log.js';
import { failOnUnhandledRejections, fuzz } from './support.js';

/** The longest message the logger keeps (src/log.ts), and room for its "…(N chars)" note. */
const MAX_MESSAGE_CHARS = 2048;
const NOTE_CHARS = 24;

/**
 * A secret as it appears in text, and the parts of it that must never reach a log: `apart` when it
 * is recognised by its shape alone (a CSRF token), so it must stand apart from the text before it:
 * after a character that is neither a word character nor one of base64's '+' and '/'.
 */
interface Secret {
  text: string;
  cores: string[];
  apart?: boolean;
}

const hexDigits = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789ABCDEF'), minLength: n, maxLength: n });
const base64 = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a).toString('base64'));
const name = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789._-'), minLength: 1, maxLength: 12 });
const realm = fc.constantFrom('pve', 'pam', 'ldap-corp', 'ad.example');
/**
 * VNC passwords are 8 characters from 0x21 to 0x60, which holds most punctuation. Ones of fewer
 * than 5 different characters ("!!!!!!!!") are left out: the fillers below could hold them by chance.
 */
const vncPassword = fc
  .string({ unit: fc.integer({ min: 0x21, max: 0x60 }).map((c) => String.fromCharCode(c)), minLength: 8, maxLength: 8 })
  .filter((password) => new Set(password).size >= 5);
const uuid = fc.uuid();

/** A signature long enough that finding it in the output cannot be chance. */
const signature = base64(18, 64);

const loginTicket = fc.tuple(name, realm, hexDigits(8), signature).map(([user, r, time, sig]) => ({ ticket: `PVE:${user}@${r}:${time}::${sig}`, sig }));
const vncTicket = fc.tuple(fc.option(vncPassword, { nil: undefined }), hexDigits(8), signature).map(([password, time, sig]) => ({
  ticket: `${password === undefined ? '' : `${password}:`}PVEVNC:${time}::${sig}`,
  password,
  sig,
}));

/** How a ticket is written: raw, URL-escaped, in a cookie or a query. */
function ticketForms(t: fc.Arbitrary<{ ticket: string; sig: string; password?: string }>): fc.Arbitrary<Secret> {
  return fc.tuple(t, fc.constantFrom('raw', 'escaped', 'cookie', 'set-cookie', 'query', 'json')).map(([{ ticket, sig, password }, form]) => {
    const escaped = encodeURIComponent(ticket);
    const text = {
      raw: ticket,
      escaped,
      cookie: `Cookie: PVEAuthCookie=${escaped}`,
      'set-cookie': `Set-Cookie: PVEAuthCookie=${ticket}; path=/; secure`,
      query: `vncwebsocket?port=5900&vncticket=${escaped}`,
      json: JSON.stringify({ data: { ticket } }),
    }[form];
    return { text, cores: password === undefined ? [sig] : [sig, password] };
  });
}

const apiToken: fc.Arbitrary<Secret> = fc.tuple(name, realm, name, uuid, fc.constantFrom('bare', 'header', 'authorization', 'json')).map(([user, r, id, secret, form]) => {
  const token = `${user}@${r}!${id.replace(/^[^A-Za-z]/, 't')}=${secret}`;
  const text = { bare: token, header: `PVEAPIToken=${token}`, authorization: `Authorization: PVEAPIToken ${token}`, json: JSON.stringify({ api_token: token }) }[form];
  return { text, cores: [secret] };
});

const csrf: fc.Arbitrary<Secret> = fc.tuple(hexDigits(8), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([time, mac]) => {
  const hmac = Buffer.from(mac).toString('base64').replace(/=+$/, '');
  return { text: `${time}:${hmac}`, cores: [hmac], apart: true };
});

const secret = fc.oneof(ticketForms(loginTicket), ticketForms(vncTicket), apiToken, csrf);

/** Text around a secret: any characters, the delimiters the patterns care about, long runs, look-alikes. */
const filler = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...' ;,&"\'<>=:@!%\n\tPVEAa0+/'), maxLength: 30 }),
  fc.integer({ min: 0, max: 3000 }).map((n) => 'x'.repeat(n)),
  // Things that are redacted (and so shorten the text) without being secrets, many of them.
  fc.integer({ min: 1, max: 40 }).map((n) => 'PVE:fake-ticket-looking-text-that-is-redacted-all-the-same '.repeat(n)),
);
const delimiters = [' ', '=', ': ', '"', "'", ';', '&', ',', '\n', '(', '[', '{', '<', '>', '?', '\t'];
const delimiter = fc.constantFrom(...delimiters);
const glue = fc.constantFrom(...delimiters, '/', '+', '');

/**
 * What ends one secret's run of characters for every pattern. Two secrets are parted by one of
 * these, as in any real line: glued without, the first one's match runs into the second, and a
 * VNC password holding a quote is then cut in two, its pattern seeing only the part after it.
 */
const parting = fc.constantFrom(' ', ';', ',', '&', '"', "'", '<', '>', '\n', '\t');

/** Random text with one to three secrets in it, and what of them must not come out. */
const textWithSecrets = fc
  .array(fc.tuple(parting, filler, glue, delimiter, secret, glue), { minLength: 1, maxLength: 3 })
  .chain((parts) =>
    filler.map((tail) => ({
      text: parts.map(([part, before, left, apartLeft, s, right], i) => (i > 0 ? part : '') + before + (s.apart ? apartLeft : left) + s.text + right).join('') + tail,
      cores: parts.flatMap(([, , , , s]) => s.cores),
    })),
  );

/** Every way a core could be written in a line: raw, URL-escaped, and as JSON escapes it. */
const spellings = (core: string) => [core, encodeURIComponent(core), JSON.stringify(core).slice(1, -1)];

function assertNoCore(out: string, cores: string[], input: string): void {
  for (const core of cores) {
    for (const spelling of spellings(core)) assert.ok(!out.includes(spelling), `${JSON.stringify(spelling)} survived in ${JSON.stringify(out.slice(0, 3000))}\nfrom ${JSON.stringify(input.slice(0, 3000))}`);
  }
}

/** Field names the logger redacts by name, as code spells them: any case, '-' or '_', as a suffix. */
const secretKey = fc.constantFrom(
  'password',
  'Password',
  'proxmox_password',
  'vncPassword',
  'passwd',
  'secret',
  'client-secret',
  'ticket',
  'vncticket',
  'CSRFPreventionToken',
  'csrf',
  'cookie',
  'Set-Cookie',
  'PVEAuthCookie',
  'cookies',
  'authorization',
  'AUTHORIZATION',
  'api_token',
  'token',
);
const plainKey = fc.constantFrom('node', 'vmid', 'url', 'detail', 'reason', 'token_prefix', 'pending_tokens', 'origin', 'error');

/** Fields in which a marked value sits under a secret name, at some depth among ordinary fields. */
const fieldsWithSecret = fc
  .tuple(
    fc.string({ unit: 'binary', minLength: 0, maxLength: 40 }).map((s) => `MARKED-${s}`),
    secretKey,
    fc.array(fc.oneof(plainKey, fc.constantFrom('0', 'nested', 'headers')), { maxLength: 3 }),
    fc.dictionary(plainKey, fc.oneof(fc.string({ maxLength: 20 }), fc.integer()), { maxKeys: 3 }),
    fc.constantFrom('string', 'object', 'array', 'number'),
  )
  .map(([marked, key, path, around, shape]) => {
    const value = { string: marked, object: { value: marked }, array: [marked], number: 12345678 }[shape];
    let fields: unknown = { ...around, [key]: value };
    for (const step of path.reverse()) fields = step === '0' ? [fields] : { ...around, [step]: fields };
    return { fields: (Array.isArray(fields) ? { list: fields } : fields) as LogFields, marked };
  });

function lineCollector(format: LogOptions['format']) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ enabled: true, level: 'debug', format }, sink).child('FUZZ', { session: 'fuzz-session' }), lines };
}

/** Every string in a JSON log line, with the key it is under. */
function strings(value: unknown, key: string, out: [string, string][] = []): [string, string][] {
  if (typeof value === 'string') out.push([key, value]);
  else if (Array.isArray(value)) for (const item of value) strings(item, key, out);
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) strings(v, k, out);
  return out;
}

describe('fuzzing the log scrubber', () => {
  failOnUnhandledRejections();

  it('takes every known secret out of random text around it (scrubSecrets)', async () => {
    await fuzz(fc.property(textWithSecrets, ({ text, cores }) => assertNoCore(scrubSecrets(text), cores, text)));
  });

  for (const format of ['json', 'text'] as const) {
    it(`writes no secret of a message or a string field, and bounds every string (${format} lines)`, async () => {
      const { log, lines } = lineCollector(format);
      await fuzz(
        fc.property(textWithSecrets, textWithSecrets, fc.constantFrom('debug', 'info', 'warn', 'error'), (message, field, level) => {
          lines.length = 0;
          log[level](message.text, { detail: field.text, nested: { list: [field.text] } });
          assert.equal(lines.length, 1);
          const line = lines[0]!;
          assertNoCore(line, [...message.cores, ...field.cores], `${message.text}\n${field.text}`);
          if (format === 'text') {
            // Three copies of the field, JSON escapes (at most 6 characters for one) and the rest.
            assert.ok(line.length <= 6 * (MAX_MESSAGE_CHARS + 3 * MAX_FIELD_CHARS + 4 * NOTE_CHARS) + 200, `a line of ${line.length} characters`);
            return;
          }
          for (const [key, value] of strings(JSON.parse(line), '')) {
            const cap = key === 'msg' ? MAX_MESSAGE_CHARS : MAX_FIELD_CHARS;
            assert.ok(value.length <= cap + NOTE_CHARS, `${key} of ${value.length} characters`);
          }
        }),
      );
    });

    it(`redacts fields by their secret names, at any depth (${format} lines)`, async () => {
      const { log, lines } = lineCollector(format);
      await fuzz(
        fc.property(fieldsWithSecret, ({ fields, marked }) => {
          lines.length = 0;
          log.info('login', fields);
          assertNoCore(lines.join(''), [marked], JSON.stringify(fields));
          assert.ok(!lines.join('').includes('12345678'), 'a number under a secret name is redacted too');
        }),
      );
    });
  }
});

describe('what the fuzzing of the log scrubber found', () => {
  it('redacts every API token of a list, not only the first (seed 20250902, case 57)', () => {
    const [first, second] = ['11111111-2222-3333-4444-555555555555', '66666666-7777-8888-9999-000000000000'];
    for (const separator of [',', ';', '&', '<', '>']) {
      assertNoCore(scrubSecrets(`tokens a@pve!x=${first}${separator}b@pve!y=${second}`), [first, second], separator);
    }
  });

  it('keeps no secret cut where the scrubbed margin ends, once redactions before it pulled it below the cap (seed 2, case 7035)', () => {
    const password = 'K&4#:B+Q';
    const cutAfter = `${encodeURIComponent(password)}%3APVEVNC%3A`;
    // src/log.ts scrubs 2,048 characters past a message's cap; long fake tickets before the
    // secret shrink to "[redacted]", so what ended that window comes within the cap.
    const window = MAX_MESSAGE_CHARS + 2048;
    const before = `PVE:${'x'.repeat(100)} `.repeat(Math.ceil(window / 105)).slice(0, window - cutAfter.length - 1);
    const { log, lines } = lineCollector('json');
    log.warn(`${before} ${cutAfter}66BF2A1C%3A%3A${'A'.repeat(40)}`);
    assertNoCore(lines.join(''), [password], 'a long message');
  });
});
