// The relay's server-to-browser path, which follows the upstream's frames on its socket and
// re-frames them onto the browser's: what a browser that stops reading costs the gateway, and
// the upstream's text, fragments, pings and Close frames on that path; the first two also over
// TLS, the upstream read into reused buffers as a console's is.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import type { RawData } from 'ws';
import { relay, type RelayEnd } from '../../src/console/relay.js';
import { WsProtocolError } from '../../src/console/ws-frames.js';
import { upstreamReadsOf } from '../../src/proxmox/upstream-reads.js';
import { socketOf, startRelayServers, type RelayPair, type RelayServers } from '../helpers/relay-pair.js';

let servers: RelayServers;
/** pveproxy's side over TLS, dialled as a console is (reads into UpstreamReads' reused buffers). */
let tlsServers: RelayServers;

before(async () => {
  [servers, tlsServers] = await Promise.all([startRelayServers(), startRelayServers({ tls: true })]);
});

after(() => Promise.all([servers.close(), tlsServers.close()]));

interface Joined extends RelayPair {
  start(highWaterMark?: number): Promise<RelayEnd>;
  counted: { toBrowser: number };
}

/** A browser client, the gateway's two sockets (joined by start()), and the upstream's far end. */
async function connect(over = servers): Promise<Joined> {
  const pair = await over.connect();
  const counted = { toBrowser: 0 };
  const start = (highWaterMark?: number) => relay(pair.gatewaySide, pair.upstream, { highWaterMark, onBytes: (down) => (counted.toBrowser += down) });
  return { ...pair, start, counted };
}

/** Everything the browser receives, and whether every frame was binary. */
function collect(browser: WebSocket): { bytes(): Buffer; allBinary: boolean } {
  const chunks: Buffer[] = [];
  const state = {
    allBinary: true,
    bytes: () => Buffer.concat(chunks),
  };
  browser.on('message', (data: RawData, isBinary: boolean) => {
    chunks.push(data as Buffer);
    if (!isBinary) state.allBinary = false;
  });
  return state;
}

async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  for (const deadline = Date.now() + ms; !ok(); await sleep(10)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

async function browserStopsReading(over: RelayServers): Promise<void> {
  const highWaterMark = 32 * 1024;
  // One gathered write past the mark (up to 64 KiB, plus the chunk that crossed it: 64 KiB on a
  // plain socket, 16 KiB from TLS), and what the upstream socket had read when it was paused: its
  // readable buffer's 16 KiB high-water mark plus one 64 KiB read.
  const constant = 64 * 1024 + 64 * 1024 + 16 * 1024 + 64 * 1024;
  const { browser, gatewaySide, upstream, farUpstream, start, counted } = await connect(over);
  if (over === tlsServers) assert.ok(upstreamReadsOf(socketOf(upstream)), 'the upstream reads into UpstreamReads');
  const ended = start(highWaterMark);
  const chunk = 64 * 1024;
  const total = 32 * 1024 * 1024;
  browser.pause();
  // The far end queues everything at once: only backpressure keeps it out of the gateway.
  for (let sent = 0, i = 0; sent < total; sent += chunk, i++) farUpstream.send(Buffer.alloc(chunk, i & 0xff));
  await sleep(800);
  const held = () => socketOf(gatewaySide).writableLength + socketOf(upstream).readableLength;
  assert.ok(held() <= highWaterMark + constant, `the gateway holds ${held()} bytes for a browser that does not read (${socketOf(gatewaySide).writableLength} + ${socketOf(upstream).readableLength}, hwm ${socketOf(upstream).readableHighWaterMark})`);
  // Stalled, not slowly draining into the gateway: nothing more is taken from the upstream.
  const taken = counted.toBrowser;
  await sleep(300);
  assert.equal(counted.toBrowser, taken);
  assert.ok(taken < total / 2, `the gateway took ${taken} of ${total} bytes from the upstream`);

  let got = 0;
  let inOrder = true;
  browser.on('message', (data: RawData) => {
    const buf = data as Buffer;
    // Frames are cut anywhere: check every byte against the message it came from.
    for (let i = 0; i < buf.length; i += 4096) if (buf[i] !== (Math.floor((got + i) / chunk) & 0xff)) inOrder = false;
    got += buf.length;
  });
  browser.resume();
  await until('every byte at the browser', () => got === total, 20_000);
  assert.ok(inOrder);
  assert.equal(counted.toBrowser, total);
  farUpstream.terminate();
  assert.equal((await ended).closedBy, 'upstream');
}

test('a browser that stops reading costs the gateway at most the high-water mark plus a constant', () => browserStopsReading(servers));

test('so it does over TLS, the upstream read into reused buffers as a console is', () => browserStopsReading(tlsServers));

test('text and fragmented messages from the upstream reach the browser as binary bytes, in order', async () => {
  const { browser, farUpstream, start } = await connect();
  const ended = start();
  const received = collect(browser);
  farUpstream.send('héllo ', { binary: false });
  farUpstream.send(Buffer.from('frag'), { fin: false });
  farUpstream.send(Buffer.from('mented '), { fin: false });
  farUpstream.send(Buffer.from('message'), { fin: true });
  const expected = Buffer.from('héllo fragmented message');
  await until('the bytes at the browser', () => received.bytes().length >= expected.length);
  assert.deepEqual(received.bytes(), expected);
  assert.ok(received.allBinary);
  browser.close();
  assert.equal((await ended).closedBy, 'browser');
});

async function pingsBetweenData(over: RelayServers): Promise<void> {
  const { browser, farUpstream, start } = await connect(over);
  const ended = start();
  const received = collect(browser);
  const upstreamPongs: string[] = [];
  farUpstream.on('pong', (data) => upstreamPongs.push(data.toString()));
  let browserPongs = 0;
  browser.on('pong', () => browserPongs++);
  const payload = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 7) & 0xff));
  for (let at = 0; at < payload.length; at += 100_000) {
    farUpstream.send(payload.subarray(at, at + 100_000));
    farUpstream.ping(`p${at}`);
    browser.ping();
  }
  await until('all data and pongs', () => received.bytes().length >= payload.length && browserPongs === 42 && upstreamPongs.length === 42);
  // No ping reached the browser as data, and no pong of ws's landed inside a frame.
  assert.deepEqual(received.bytes(), payload);
  assert.equal(upstreamPongs[41], `p${41 * 100_000}`);
  browser.close();
  assert.equal((await ended).closedBy, 'browser');
}

test('pings: the gateway answers the upstream\'s itself, ws answers the browser\'s, data in between stays whole', () => pingsBetweenData(servers));

test('so it does over TLS, each payload re-framed in place in the reused read buffers', () => pingsBetweenData(tlsServers));

test('an upstream Close ends the relay after the data sent before it; the browser gets 1000', async () => {
  const { browser, farUpstream, start } = await connect();
  const ended = start();
  const received = collect(browser);
  const browserClosed = once(browser, 'close');
  farUpstream.send(Buffer.alloc(300_000, 9));
  farUpstream.close(1000, 'bye');
  const end = await ended;
  assert.equal(end.closedBy, 'upstream');
  assert.equal(end.error, undefined);
  const [code] = await browserClosed;
  assert.equal(code, 1000);
  assert.deepEqual(received.bytes(), Buffer.alloc(300_000, 9));
});

test('a frame no server may send (masked) ends the relay with a protocol error', async () => {
  const { browser, farUpstream, start } = await connect();
  const ended = start();
  const browserClosed = once(browser, 'close');
  // RFC 6455's masked "Hello", written raw by the far end.
  socketOf(farUpstream).write(Buffer.from('818537fa213d7f9f4d5158', 'hex'));
  const end = await ended;
  assert.equal(end.closedBy, 'upstream');
  assert.ok(end.error instanceof WsProtocolError, String(end.error));
  assert.equal((await browserClosed)[0], 1000);
});

test('an upstream whose ws still holds part of a frame when the relay starts is relayed through ws, nothing lost', async () => {
  const { browser, upstream, farUpstream, start } = await connect();
  const received = collect(browser);
  const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
  const frame = Buffer.concat([Buffer.from([0x82, 126, 0x03, 0xe8]), payload]);
  socketOf(farUpstream).write(frame.subarray(0, 500));
  // The first half sits in ws's receiver before the relay takes the upstream.
  await until('the half frame at the gateway', () => (upstream as unknown as { _receiver: { _bufferedBytes: number } })._receiver._bufferedBytes > 0);
  const ended = start();
  socketOf(farUpstream).write(frame.subarray(500));
  farUpstream.send(Buffer.from('after'));
  await until('the bytes at the browser', () => received.bytes().length >= 1005);
  assert.deepEqual(received.bytes(), Buffer.concat([payload, Buffer.from('after')]));
  browser.close();
  assert.equal((await ended).closedBy, 'browser');
});

test('browser messages: binary ones read by the relay, a ping hands the rest to ws; nothing lost or reordered', async () => {
  const { browser, farUpstream, start } = await connect();
  const ended = start();
  const received: Buffer[] = [];
  farUpstream.on('message', (data: RawData, isBinary: boolean) => received.push(Buffer.concat([Buffer.from(isBinary ? 'b:' : 't:'), data as Buffer])));
  const pong = once(browser, 'pong');
  const expected: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    browser.send(Buffer.from(`key ${i}`));
    expected.push(Buffer.from(`b:key ${i}`));
  }
  browser.ping();
  for (let i = 0; i < 50; i++) {
    browser.send(i % 2 === 0 ? Buffer.from(`after ${i}`) : `text ${i}`);
    expected.push(Buffer.from(`b:${i % 2 === 0 ? 'after' : 'text'} ${i}`));
  }
  await pong;
  await until('every message upstream', () => received.length >= expected.length);
  assert.deepEqual(received, expected);
  // The browser's Close goes to ws as well: the relay ends at once, not after ws's close timeout.
  const closedAt = Date.now();
  browser.close(1000);
  assert.equal((await ended).closedBy, 'browser');
  await once(browser, 'close');
  assert.ok(Date.now() - closedAt < 2_000);
});
