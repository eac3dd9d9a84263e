import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ByteReader } from '../../src/console/rfb/byte-reader.js';
import { negotiateBrowserSecurity, securityResultFailure, securityResultOk } from '../../src/console/rfb/downstream.js';
import { RfbAuthFailedError, RfbProtocolError, RfbStreamClosedError } from '../../src/console/rfb/errors.js';
import { MAX_TITLE_BYTES, readClientInit, readServerInitRenamed, SHARED_CLIENT_INIT } from '../../src/console/rfb/init.js';
import { authenticateUpstream } from '../../src/console/rfb/upstream.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Feeds `script` cut at `cut` (both halves before the handshake runs) and records what is sent. */
function scripted(script: Buffer, cut = script.length) {
  const reader = new ByteReader();
  const sent: Buffer[] = [];
  reader.push(script.subarray(0, cut));
  reader.push(script.subarray(cut));
  return { reader, send: (b: Buffer) => sent.push(Buffer.from(b)), sent: () => Buffer.concat(sent) };
}

const CHALLENGE = hex('000102030405060708090a0b0c0d0e0f');
// Response for password "Secret12" (see rfb-des.test.ts for how it was computed).
const RESPONSE = hex('87e584d4d47d3a3bd452491de1935e3a');
const SERVER_UNTIL_RESULT = Buffer.concat([ascii('RFB 003.008\n'), hex('01 02'), CHALLENGE]);

test('upstream handshake: version 3.8, security type 2, DES response, SecurityResult OK', async () => {
  const script = Buffer.concat([SERVER_UNTIL_RESULT, u32(0)]);
  for (let cut = 0; cut <= script.length; cut++) {
    const s = scripted(script, cut);
    await authenticateUpstream(s.reader, s.send, 'Secret12');
    assert.deepEqual(s.sent(), Buffer.concat([ascii('RFB 003.008\n'), hex('02'), RESPONSE]), `cut at ${cut}`);
    assert.equal(s.reader.buffered, 0);
  }
});

test('upstream handshake: QEMU failure reason ("Authentication failed" and a NUL)', async () => {
  const reason = ascii('Authentication failed\0');
  assert.equal(reason.length, 22);
  const s = scripted(Buffer.concat([SERVER_UNTIL_RESULT, u32(1), u32(reason.length), reason]));
  await assert.rejects(authenticateUpstream(s.reader, s.send, 'wrong'), (err: unknown) => {
    assert.ok(err instanceof RfbAuthFailedError);
    assert.equal(err.reason, 'Authentication failed');
    return true;
  });
});

test('upstream handshake: vncterm failure reason ("password check failed!")', async () => {
  const reason = ascii('password check failed!');
  assert.equal(reason.length, 22);
  const s = scripted(Buffer.concat([SERVER_UNTIL_RESULT, u32(1), u32(reason.length), reason]));
  await assert.rejects(authenticateUpstream(s.reader, s.send, 'wrong'), (err: unknown) => {
    assert.ok(err instanceof RfbAuthFailedError);
    assert.equal(err.reason, 'password check failed!');
    return true;
  });
});

test('upstream handshake: security types without 2 fail clearly, before any response is sent', async () => {
  const s = scripted(Buffer.concat([ascii('RFB 003.008\n'), hex('02 01 10')]));
  await assert.rejects(authenticateUpstream(s.reader, s.send, 'pw'), (err: unknown) => {
    assert.ok(err instanceof RfbProtocolError);
    assert.match(err.message, /\[1, 16\].*expected 2/);
    return true;
  });
  assert.deepEqual(s.sent(), ascii('RFB 003.008\n'));
});

test('upstream handshake: a refused connection (zero security types) carries the reason', async () => {
  const reason = ascii('Too many connections');
  const s = scripted(Buffer.concat([ascii('RFB 003.008\n'), hex('00'), u32(reason.length), reason]));
  await assert.rejects(authenticateUpstream(s.reader, s.send, 'pw'), /refused the connection: Too many connections/);
});

test('upstream handshake: older servers and non-RFB peers are refused', async () => {
  const old = scripted(ascii('RFB 003.003\n'));
  await assert.rejects(authenticateUpstream(old.reader, old.send, 'pw'), /3\.3; 3\.8 is required/);
  const http = scripted(ascii('HTTP/1.1 200 OK\r\n\r\n'));
  await assert.rejects(authenticateUpstream(http.reader, http.send, 'pw'), RfbProtocolError);
});

test('upstream handshake: oversized reason lengths are refused without waiting for the bytes', async () => {
  const s = scripted(Buffer.concat([SERVER_UNTIL_RESULT, u32(1), u32(0xffffffff)]));
  await assert.rejects(authenticateUpstream(s.reader, s.send, 'pw'), /exceeds the limit/);
});

test('upstream handshake: a connection closed mid-way rejects (a stopped VM closes without a byte)', async () => {
  const reader = new ByteReader();
  const pending = authenticateUpstream(reader, () => {}, 'pw');
  reader.fail();
  await assert.rejects(pending, RfbStreamClosedError);
});

test('downstream handshake (3.8): exact bytes, then SecurityResult OK or failure with a reason', async () => {
  const client = Buffer.concat([ascii('RFB 003.008\n'), hex('01')]);
  for (let cut = 0; cut <= client.length; cut++) {
    const s = scripted(client, cut);
    assert.equal(await negotiateBrowserSecurity(s.reader, s.send), '3.8');
    assert.deepEqual(s.sent(), Buffer.concat([ascii('RFB 003.008\n'), hex('01 01')]));
  }
  assert.deepEqual(securityResultOk('3.8'), hex('00000000'));
  const reason = 'The virtual machine is not running.';
  assert.deepEqual(securityResultFailure('3.8', reason), Buffer.concat([hex('00000001'), u32(reason.length), ascii(reason)]));
});

test('downstream handshake (3.7): list of types, no SecurityResult after None', async () => {
  const s = scripted(Buffer.concat([ascii('RFB 003.007\n'), hex('01')]));
  assert.equal(await negotiateBrowserSecurity(s.reader, s.send), '3.7');
  assert.deepEqual(s.sent(), Buffer.concat([ascii('RFB 003.008\n'), hex('01 01')]));
  assert.equal(securityResultOk('3.7').length, 0);
  assert.equal(securityResultFailure('3.7', 'x'), null);
});

test('downstream handshake (3.3): the server names security type 1 as a U32 and reads nothing', async () => {
  const s = scripted(ascii('RFB 003.003\n'));
  assert.equal(await negotiateBrowserSecurity(s.reader, s.send), '3.3');
  assert.deepEqual(s.sent(), Buffer.concat([ascii('RFB 003.008\n'), hex('00000001')]));
  assert.equal(securityResultOk('3.3').length, 0);
});

test('downstream handshake: unknown versions, garbage and another security type are refused', async () => {
  for (const bad of [ascii('RFB 004.000\n'), ascii('RFB 003.005\n'), ascii('GET / HTTP/1.1\r\n')]) {
    const s = scripted(bad);
    await assert.rejects(negotiateBrowserSecurity(s.reader, s.send), RfbProtocolError);
  }
  const s = scripted(Buffer.concat([ascii('RFB 003.008\n'), hex('02')]));
  await assert.rejects(negotiateBrowserSecurity(s.reader, s.send), /chose security type 2/);
});

test('ClientInit: whatever the browser asks, upstream gets shared=1', async () => {
  const s = scripted(hex('00'));
  await readClientInit(s.reader);
  assert.equal(s.reader.buffered, 0);
  assert.deepEqual(SHARED_CLIENT_INIT, hex('01'));
});

function serverInit(name: Buffer): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt16BE(1024, 0);
  fixed.writeUInt16BE(768, 2);
  hex('20 18 00 01 00ff 00ff 00ff 10 08 00 000000').copy(fixed, 4);
  return Buffer.concat([fixed, u32(name.length), name]);
}

test('ServerInit: the name is replaced by the title, whatever the cut, and later bytes stay', async () => {
  const title = 'web01 – Übersicht';
  const following = hex('00 00 00 01 0000 0000 0010 0010 00000000');
  const upstream = Buffer.concat([serverInit(ascii('QEMU (vm-100)')), following]);
  const expected = serverInit(Buffer.from(title, 'utf8'));
  for (let cut = 0; cut <= upstream.length; cut++) {
    const s = scripted(upstream, cut);
    assert.deepEqual(await readServerInitRenamed(s.reader, title), expected, `cut at ${cut}`);
    assert.deepEqual(s.reader.drain(), following, `cut at ${cut}`);
  }
});

test('ServerInit: long titles are cut on a UTF-8 character boundary', async () => {
  const s = scripted(serverInit(ascii('x')));
  const out = await readServerInitRenamed(s.reader, 'é'.repeat(300));
  const length = out.readUInt32BE(20);
  assert.ok(length <= MAX_TITLE_BYTES && length % 2 === 0);
  assert.equal(out.subarray(24).toString('utf8'), 'é'.repeat(length / 2));
});

test('ServerInit: an absurd name length is refused', async () => {
  const s = scripted(Buffer.concat([serverInit(Buffer.alloc(0)).subarray(0, 20), u32(10_000_000)]));
  await assert.rejects(readServerInitRenamed(s.reader, 't'), /exceeds the limit/);
});

test('byte reader: a peer flooding the handshake is cut off with a protocol error', async () => {
  const reader = new ByteReader(1024);
  const pending = reader.read(2048);
  reader.push(Buffer.alloc(1025));
  await assert.rejects(pending, RfbProtocolError);
  await assert.rejects(reader.read(1), RfbProtocolError);
});

test('byte reader: reads across many small chunks and keeps the rest', async () => {
  const reader = new ByteReader();
  const pending = reader.read(5);
  for (const b of ascii('abcdefg')) reader.push(Buffer.from([b]));
  assert.equal((await pending).toString(), 'abcde');
  assert.equal(reader.drain().toString(), 'fg');
});

test('random bytes never crash a handshake: each one settles', async () => {
  for (let i = 0; i < 300; i++) {
    const noise = randomBytes(1 + (i % 97));
    // Sometimes a valid start, so the later steps get noise too.
    const prefix = i % 3 === 0 ? ascii('RFB 003.008\n') : Buffer.alloc(0);
    const up = scripted(Buffer.concat([prefix, noise]));
    const down = scripted(Buffer.concat([prefix, noise]));
    const init = scripted(noise);
    const settled = Promise.allSettled([
      authenticateUpstream(up.reader, up.send, 'pw'),
      negotiateBrowserSecurity(down.reader, down.send),
      readServerInitRenamed(init.reader, 't'),
    ]);
    // Let each run consume what it can first; then the stream ends.
    await new Promise(setImmediate);
    up.reader.fail();
    down.reader.fail();
    init.reader.fail();
    for (const outcome of await settled) {
      if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof Error);
    }
  }
});
