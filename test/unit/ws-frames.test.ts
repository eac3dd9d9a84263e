// The relay's framing against golden frames (RFC 6455 section 5.7 and built by hand). Server to
// browser: fragmented messages, control frames between fragments, 16- and 64-bit lengths, a Close
// in the middle of a message, and everything a server must not send; every stream is also fed cut
// at every byte, since TLS hands frames over cut anywhere. Browser to server: whole masked binary
// messages are read, and the first frame of any other kind is left, untouched, for ws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryFrameHeader, readWholeClientMessages, ServerFrameReader, WsProtocolError, type ServerFrameSink } from '../../src/console/ws-frames.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** RFC 6455 5.7: a single-frame unmasked text message "Hello". */
const TEXT_HELLO = hex('81 05 48 65 6c 6c 6f');
/** RFC 6455 5.7: a fragmented unmasked text message, "Hel" then "lo". */
const FRAGMENT_HEL = hex('01 03 48 65 6c');
const FRAGMENT_LO = hex('80 02 6c 6f');
/** RFC 6455 5.7: an unmasked Ping with body "Hello" (and the Pong a client answers with, unmasked here). */
const PING_HELLO = hex('89 05 48 65 6c 6c 6f');
const PONG_HELLO = hex('8a 05 48 65 6c 6c 6f');
/** RFC 6455 5.7: the masked "Hello" a client sends: never from a server. */
const MASKED_HELLO = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
/** Close, status 1000, reason "bye". */
const CLOSE_1000_BYE = hex('88 05 03 e8 62 79 65');

const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
/** RFC 6455 5.7: 256 bytes binary in a single unmasked frame (16-bit length). */
const BINARY_256 = Buffer.concat([hex('82 7e 01 00'), bytes(256, 1)]);
/** RFC 6455 5.7: 64 KiB binary in a single unmasked frame (64-bit length). */
const BINARY_64K = Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), bytes(65536, 2)]);

interface Seen {
  data: Buffer;
  events: string[];
}

function sink(seen: Seen): ServerFrameSink {
  return {
    data(payload) {
      seen.data = Buffer.concat([seen.data, payload]);
      seen.events.push(`data:${payload.length}`);
    },
    ping: (payload) => seen.events.push(`ping:${payload.toString('latin1')}`),
    pong: (payload) => seen.events.push(`pong:${payload.toString('latin1')}`),
    close: (code, reason) => seen.events.push(`close:${code ?? 'none'}:${reason.toString('utf8')}`),
  };
}

/** What the reader reports for `stream` fed in pieces of `size` bytes (data events merged, so cuts do not matter). */
function read(stream: Buffer, size = stream.length): { data: Buffer; controls: string[] } {
  const seen: Seen = { data: Buffer.alloc(0), events: [] };
  const reader = new ServerFrameReader(sink(seen));
  for (let at = 0; at < stream.length; at += size) reader.push(stream.subarray(at, at + size));
  return { data: seen.data, controls: seen.events.filter((e) => !e.startsWith('data:')) };
}

/** Fed whole, cut at each single position, and a byte at a time: always the same result. */
function readEveryWay(stream: Buffer): { data: Buffer; controls: string[] } {
  const whole = read(stream);
  for (let cut = 1; cut < stream.length; cut++) {
    const seen: Seen = { data: Buffer.alloc(0), events: [] };
    const reader = new ServerFrameReader(sink(seen));
    reader.push(stream.subarray(0, cut));
    reader.push(stream.subarray(cut));
    assert.deepEqual({ data: seen.data, controls: seen.events.filter((e) => !e.startsWith('data:')) }, whole, `cut at ${cut}`);
  }
  assert.deepEqual(read(stream, 1), whole, 'a byte at a time');
  return whole;
}

test('RFC 6455 examples: a text frame, a fragmented message and a Ping', () => {
  assert.deepEqual(readEveryWay(TEXT_HELLO), { data: Buffer.from('Hello'), controls: [] });
  assert.deepEqual(readEveryWay(Buffer.concat([FRAGMENT_HEL, FRAGMENT_LO])), { data: Buffer.from('Hello'), controls: [] });
  assert.deepEqual(readEveryWay(PING_HELLO), { data: Buffer.alloc(0), controls: ['ping:Hello'] });
});

test('control frames between the fragments of a message are reported, and the message stays whole', () => {
  const stream = Buffer.concat([FRAGMENT_HEL, PING_HELLO, PONG_HELLO, FRAGMENT_LO, TEXT_HELLO]);
  assert.deepEqual(readEveryWay(stream), { data: Buffer.from('HelloHello'), controls: ['ping:Hello', 'pong:Hello'] });
});

test('16- and 64-bit lengths: payloads arrive in order, as views of the chunk when it holds them', () => {
  const stream = Buffer.concat([BINARY_256, TEXT_HELLO, BINARY_64K]);
  const { data } = read(stream, 1000);
  assert.deepEqual(data, Buffer.concat([bytes(256, 1), Buffer.from('Hello'), bytes(65536, 2)]));
  assert.deepEqual(readEveryWay(BINARY_256).data, bytes(256, 1));
  // No copy: the payload handed on is the chunk's own memory.
  const views: Buffer[] = [];
  new ServerFrameReader({ data: (p) => views.push(p), ping() {}, pong() {}, close() {} }).push(BINARY_64K);
  assert.equal(views.length, 1);
  assert.equal(views[0]!.buffer, BINARY_64K.buffer);
  assert.equal(views[0]!.byteOffset, BINARY_64K.byteOffset + 10);
});

test('empty frames and an empty Close', () => {
  assert.deepEqual(readEveryWay(hex('82 00 89 00 81 00 88 00')), { data: Buffer.alloc(0), controls: ['ping:', 'close:none:'] });
});

test('a Close in the middle of a fragmented message ends the stream: nothing after it is read', () => {
  const stream = Buffer.concat([FRAGMENT_HEL, CLOSE_1000_BYE, FRAGMENT_LO, MASKED_HELLO]);
  const seen: Seen = { data: Buffer.alloc(0), events: [] };
  const reader = new ServerFrameReader(sink(seen));
  reader.push(stream);
  assert.equal(reader.closed, true);
  assert.deepEqual(seen.data, Buffer.from('Hel'));
  assert.deepEqual(seen.events, ['data:3', 'close:1000:bye']);
  assert.deepEqual(readEveryWay(stream), { data: Buffer.from('Hel'), controls: ['close:1000:bye'] });
});

test('what a server must not send is a protocol error', () => {
  const refused: Record<string, Buffer> = {
    'a masked frame': MASKED_HELLO,
    'RSV1 (permessage-deflate was not negotiated)': hex('c1 05 48 65 6c 6c 6f'),
    'RSV3': hex('92 00'),
    'reserved data opcode 3': hex('83 00'),
    'reserved control opcode 11': hex('8b 00'),
    'a fragmented Ping': hex('09 00'),
    'a Ping of 126 bytes': Buffer.concat([hex('89 7e 00 7e'), Buffer.alloc(126)]),
    'a continuation without a message': hex('80 02 6c 6f'),
    'a new message inside a fragmented one': Buffer.concat([FRAGMENT_HEL, TEXT_HELLO]),
    'a 64-bit length of 2^53': hex('82 7f 00 20 00 00 00 00 00 00'),
    'a Close with a one-byte body': hex('88 01 03'),
  };
  for (const [what, frame] of Object.entries(refused)) {
    for (const size of [frame.length, 1]) {
      assert.throws(() => read(frame, size), WsProtocolError, `${what}, in pieces of ${size}`);
    }
  }
});

test('binaryFrameHeader: 7-, 16- and 64-bit lengths at their edges, unmasked, final, binary', () => {
  assert.deepEqual(binaryFrameHeader(0), hex('82 00'));
  assert.deepEqual(binaryFrameHeader(5), hex('82 05'));
  assert.deepEqual(binaryFrameHeader(125), hex('82 7d'));
  assert.deepEqual(binaryFrameHeader(126), hex('82 7e 00 7e'));
  assert.deepEqual(binaryFrameHeader(256), hex('82 7e 01 00'));
  assert.deepEqual(binaryFrameHeader(65535), hex('82 7e ff ff'));
  assert.deepEqual(binaryFrameHeader(65536), hex('82 7f 00 00 00 00 00 01 00 00'));
  assert.deepEqual(binaryFrameHeader(2 ** 32 + 5), hex('82 7f 00 00 00 01 00 00 00 05'));
  // Its frames read back as they were written.
  for (const length of [0, 1, 125, 126, 16384, 65535, 65536, 200_000]) {
    const payload = bytes(length, length);
    assert.deepEqual(read(Buffer.concat([binaryFrameHeader(length), payload]), 4096).data, payload, `length ${length}`);
  }
});

/** A browser's frame: masked with `mask`, final, of `opcode`. */
function clientFrame(opcode: number, payload: Buffer, mask = hex('37 fa 21 3d')): Buffer {
  const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : payload.length < 0x10000 ? Buffer.from([0xfe, payload.length >> 8, payload.length & 0xff]) : hex('ff 00 00 00 00 00 01 00 00');
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!));
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, mask, masked]);
}

function readClient(chunk: Buffer, stopAfter = Infinity): { messages: Buffer[]; end: number } {
  const messages: Buffer[] = [];
  const end = readWholeClientMessages(chunk, (payload) => messages.push(Buffer.from(payload)) < stopAfter);
  return { messages, end };
}

test('whole masked binary messages from a browser are unmasked in place, several in one read', () => {
  // RFC 6455 5.7's masked "Hello", as the binary frame a console page sends.
  const hello = hex('82 85 37 fa 21 3d 7f 9f 4d 51 58');
  const setEncodings = clientFrame(2, hex('02 00 00 02 00 00 00 00 ff ff ff 21'), hex('01 02 03 04'));
  const paste = clientFrame(2, bytes(300, 5));
  const chunk = Buffer.concat([hello, setEncodings, clientFrame(2, Buffer.alloc(0)), paste]);
  const { messages, end } = readClient(chunk);
  assert.equal(end, chunk.length);
  assert.deepEqual(messages, [Buffer.from('Hello'), hex('02 00 00 02 00 00 00 00 ff ff ff 21'), Buffer.alloc(0), bytes(300, 5)]);
});

test('the first frame a browser sends that is not a whole binary message is left untouched, with all after it', () => {
  const first = clientFrame(2, Buffer.from('key'));
  const leftAt = (rest: Buffer, what: string) => {
    const chunk = Buffer.concat([first, rest, clientFrame(2, Buffer.from('after'))]);
    const untouched = Buffer.from(chunk.subarray(first.length));
    const { messages, end } = readClient(chunk);
    assert.equal(end, first.length, what);
    assert.deepEqual(messages, [Buffer.from('key')], what);
    assert.deepEqual(chunk.subarray(end), untouched, `${what}: left as it came`);
  };
  leftAt(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), 'a text frame');
  leftAt(clientFrame(9, Buffer.from('p')), 'a Ping');
  leftAt(clientFrame(8, hex('03 e8')), 'a Close');
  leftAt(Buffer.concat([hex('02 81 00 00 00 00 41'), hex('80 81 00 00 00 00 42')]), 'a fragmented message');
  leftAt(hex('82 05 48 65 6c 6c 6f'), 'an unmasked frame (ws refuses it)');
  leftAt(hex('c2 81 00 00 00 00 41'), 'RSV1 set');
  leftAt(clientFrame(2, bytes(65536, 3)), 'a 64-bit length');
  // Cut by the end of the read: header, extended length, mask or payload.
  const cut = clientFrame(2, bytes(200, 7));
  for (const at of [1, 3, 6, 100]) {
    const chunk = Buffer.concat([first, cut.subarray(0, at)]);
    assert.equal(readClient(chunk).end, first.length, `cut after ${at} bytes`);
  }
});

test('a false from onMessage stops after that message', () => {
  const chunk = Buffer.concat([clientFrame(2, Buffer.from('a')), clientFrame(2, Buffer.from('b'))]);
  const { messages, end } = readClient(chunk, 1);
  assert.deepEqual(messages, [Buffer.from('a')]);
  assert.equal(end, clientFrame(2, Buffer.from('a')).length);
});
