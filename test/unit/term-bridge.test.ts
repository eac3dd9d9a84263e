// The terminal bridge against a stand-in termproxy, through the session's shared terminal: the
// ready signal and the output that came with `OK`, input sent before the terminal was ready,
// keep-alive pings, a failure's close code and reason, and a viewer that stops reading let go
// while its co-viewer reads on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { MessageBudget } from '../../src/console/message-budget.js';
import { CONSOLE_UNAVAILABLE_CLOSE_CODE, runTermBridge, SERIAL_NOT_CONFIGURED_CLOSE_CODE } from '../../src/console/term/bridge.js';
import { SharedTerminals } from '../../src/console/term/shared-terminal.js';
import { logInToTerminal, type LoggedInTerminal } from '../../src/proxmox/term-login.js';
import { silentLogger } from '../../src/log.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';

let termproxy: WebSocketServer;
let gateway: WebSocketServer;
let termproxyUrl: string;
/** What the stand-in termproxy received after the login line. */
let upstreamReceived = '';
let open: () => Promise<LoggedInTerminal>;
let terminals: SharedTerminals;
let nextSession = 0;
/** Output a flood sends: more than loopback's socket buffers and a viewer's high-water mark hold. */
const FLOOD_CHUNKS = 256;
const SLOW_VIEWER_MS = 300;

async function listen(server: WebSocketServer): Promise<string> {
  await once(server, 'listening');
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function openStandIn(): Promise<LoggedInTerminal> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const ws = new WebSocket(termproxyUrl);
  ws.on('error', () => {});
  await once(ws, 'open');
  ws.pause();
  return logInToTerminal(ws, 'u@pve', 'T', 2000);
}

before(async () => {
  termproxy = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  termproxyUrl = await listen(termproxy);
  termproxy.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.once('message', () => {
      ws.send(Buffer.from('OKlogin: '));
      ws.on('message', (data) => {
        upstreamReceived += String(data);
        if (String(data).includes('flood')) for (let i = 0; i < FLOOD_CHUNKS; i++) ws.send(Buffer.alloc(64 * 1024, 0x61));
      });
    });
  });
  terminals = new SharedTerminals({ graceMs: 0, openTimeoutMs: 2000, log: silentLogger, keepAliveMs: 150, slowViewerMs: SLOW_VIEWER_MS });
  gateway = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(gateway, 'listening');
  gateway.on('connection', (browser, request) => {
    // Each browser its own session, unless its path names one: sharing is mostly shared-terminal.test.ts's.
    const session = request.url && request.url.length > 1 ? request.url.slice(1) : `s${nextSession++}`;
    void runTermBridge(browser, {
      join: (viewer, options) => terminals.join(session, session, () => open(), viewer, options),
      viewOnly: false,
      budget: new MessageBudget(1000),
      log: silentLogger,
    });
  });
});

after(async () => {
  terminals.closeAll();
  for (const server of [gateway, termproxy]) {
    for (const ws of server.clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function browser(session = ''): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${(gateway.address() as AddressInfo).port}/${session}`);
  ws.on('error', () => {});
  const frames: Buffer[] = [];
  ws.on('message', (data) => frames.push(data as Buffer));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await once(ws, 'open');
  return { ws, frames, closed };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('ready signal, output after OK, early input (size first), then keep-alive pings', async () => {
  upstreamReceived = '';
  open = openStandIn;
  const { ws, frames } = await browser();
  // Sent before the terminal is open: held, checked and passed on once it is; the viewer's own pings are the terminal's business.
  ws.send('1:100:30:0:2:hi2');
  await until(() => frames.length >= 2, 'two frames');
  assert.deepEqual(frames.slice(0, 2).map(String), ['', 'login: ']);
  await until(() => upstreamReceived.includes('1:100:30:0:2:hi2'), "early input, then the terminal's own ping");
  ws.close();
});

test('a failure before the terminal opens closes with 4002 and a reason for the user', async () => {
  open = () => Promise.reject(new ProxmoxError('guest_not_running', 'Guest 100 on node pve1 is not running.'));
  const { closed, frames } = await browser();
  assert.deepEqual(await closed, { code: CONSOLE_UNAVAILABLE_CLOSE_CODE, reason: 'The server is not running. Start it from your control panel, then reconnect.' });
  assert.deepEqual(frames, []);
});

test('a VM without a serial port closes with 4003, which the page reads as final', async () => {
  open = () => Promise.reject(new ProxmoxError('serial_not_configured', 'VM 100 has no serial port configured as a socket.'));
  const { closed } = await browser();
  assert.deepEqual(await closed, { code: SERIAL_NOT_CONFIGURED_CLOSE_CODE, reason: 'This virtual machine has no serial console.' });
});

test('malformed input closes with 1008', async () => {
  open = openStandIn;
  const { ws, closed } = await browser();
  ws.send('x');
  assert.equal((await closed).code, 1008);
});

test('a viewer that stops reading is let go with 1013 while its co-viewer reads the whole output', async () => {
  open = openStandIn;
  const reading = await browser('shared');
  const asleep = await browser('shared');
  let readingBytes = 0;
  reading.ws.on('message', (data: Buffer) => (readingBytes += data.length));
  await until(() => asleep.frames.length >= 2, 'the terminal, for the viewer about to stop reading');
  // A tab in the background: its connection stays, its bytes are not read.
  const asleepSocket = (asleep.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  asleepSocket.pause();
  reading.ws.send('0:5:flood');
  await until(() => readingBytes >= FLOOD_CHUNKS * 64 * 1024, 'the whole flood at the reading viewer');
  asleepSocket.resume();
  assert.deepEqual(await asleep.closed, { code: 1013, reason: 'too slow a connection' });
  assert.ok(asleep.frames.reduce((n, f) => n + f.length, 0) < FLOOD_CHUNKS * 64 * 1024, 'the one let go did not get it all');
  reading.ws.close();
});
