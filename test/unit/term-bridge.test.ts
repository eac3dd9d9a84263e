// The terminal bridge against a stand-in termproxy, through the session's shared terminal: the
// ready signal and the output that came with `OK`, input sent before the terminal was ready,
// keep-alive pings, and a failure's close code and reason.
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
      ws.on('message', (data) => (upstreamReceived += String(data)));
    });
  });
  terminals = new SharedTerminals({ graceMs: 0, openTimeoutMs: 2000, log: silentLogger, keepAliveMs: 150 });
  gateway = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(gateway, 'listening');
  gateway.on('connection', (browser) => {
    // Each browser its own session here: sharing is shared-terminal.test.ts's.
    const session = `s${nextSession++}`;
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

async function browser(): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${(gateway.address() as AddressInfo).port}/`);
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
