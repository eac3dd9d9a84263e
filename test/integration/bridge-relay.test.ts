// The relay between a browser websocket and an upstream websocket, on local sockets: frame sizes
// toward pveproxy, text frames, backpressure toward a slow browser, and closing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { type RawData } from 'ws';
import { MAX_UPSTREAM_FRAME, relay, type RelayEnd } from '../../src/console/relay.js';
import { startRelayServers, type RelayServers } from '../helpers/relay-pair.js';

let servers: RelayServers;

before(async () => {
  servers = await startRelayServers({ upstreamMaxPayload: 64 * 1024 * 1024, gatewayMaxPayload: 1024 * 1024 });
});

after(() => servers.close());

interface Joined {
  browser: WebSocket;
  gatewaySide: WebSocket;
  farUpstream: WebSocket;
  ended: Promise<RelayEnd>;
  counted: { toBrowser: number; toUpstream: number };
}

/** A browser client, the gateway's two sockets joined by relay(), and the upstream's far end. */
async function join(highWaterMark?: number): Promise<Joined> {
  const { browser, gatewaySide, upstream, farUpstream } = await servers.connect();
  const counted = { toBrowser: 0, toUpstream: 0 };
  const ended = relay(gatewaySide, upstream, {
    highWaterMark,
    onBytes: (down, up) => {
      counted.toBrowser += down;
      counted.toUpstream += up;
    },
  });
  return { browser, gatewaySide, farUpstream, ended, counted };
}

test('browser messages over 128 KiB reach the upstream as several binary frames; text goes as binary', async () => {
  const { browser, farUpstream, ended, counted } = await join();
  const received: Array<{ size: number; binary: boolean }> = [];
  farUpstream.on('message', (data: RawData, isBinary: boolean) => received.push({ size: (data as Buffer).length, binary: isBinary }));
  const big = Buffer.alloc(300 * 1024, 7);
  browser.send(big);
  browser.send('hello');
  for (let i = 0; i < 100 && received.length < 4; i++) await sleep(10);
  assert.deepEqual(received, [
    { size: MAX_UPSTREAM_FRAME, binary: true },
    { size: MAX_UPSTREAM_FRAME, binary: true },
    { size: big.length - 2 * MAX_UPSTREAM_FRAME, binary: true },
    { size: 5, binary: true },
  ]);
  assert.equal(counted.toUpstream, big.length + 5);
  browser.close();
  assert.equal((await ended).closedBy, 'browser');
  if (farUpstream.readyState !== WebSocket.CLOSED) await once(farUpstream, 'close');
});

test('a browser that does not read stalls the upstream instead of filling the gateway\'s memory', async () => {
  const highWaterMark = 256 * 1024;
  const { browser, gatewaySide, farUpstream, ended, counted } = await join(highWaterMark);
  const chunk = 64 * 1024;
  const total = 32 * 1024 * 1024;
  browser.pause();
  // The far end queues everything at once: only backpressure keeps it out of the gateway.
  for (let sent = 0, i = 0; sent < total; sent += chunk, i++) farUpstream.send(Buffer.alloc(chunk, i & 0xff));
  await sleep(800);
  assert.ok(gatewaySide.bufferedAmount < highWaterMark + 2 * chunk, `gateway queued ${gatewaySide.bufferedAmount} bytes toward the browser`);
  assert.ok(counted.toBrowser < total / 2, `gateway already took ${counted.toBrowser} of ${total} bytes from the upstream`);

  let got = 0;
  let inOrder = true;
  browser.on('message', (data: RawData) => {
    const buf = data as Buffer;
    if (buf[0] !== ((got / chunk) & 0xff)) inOrder = false;
    got += buf.length;
  });
  browser.resume();
  for (let i = 0; i < 500 && got < total; i++) await sleep(20);
  assert.equal(got, total);
  assert.ok(inOrder);
  assert.equal(counted.toBrowser, total);

  farUpstream.terminate();
  assert.equal((await ended).closedBy, 'upstream');
  if (browser.readyState !== WebSocket.CLOSED) await once(browser, 'close');
});
