// The VNC bridge between a browser-side RFB client and the simulator's consoles: security type
// None toward the browser, VNC authentication upstream, the title in ServerInit, relaying both
// ways, and the failures a browser must be told about.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { MessageBudget } from '../../src/console/message-budget.js';
import { runVncBridge, type VncBridgeOptions, type VncBridgeOutcome } from '../../src/console/vnc-bridge.js';
import { silentLogger } from '../../src/log.js';
import { ProxmoxClient, type ProxmoxCredentials } from '../../src/proxmox/client.js';
import { isProxmoxError, ProxmoxError } from '../../src/proxmox/errors.js';
import { RfbTestClient } from '../helpers/rfb-client.js';

const TOKEN: ProxmoxCredentials = { kind: 'apiToken', tokenId: 'vncuser@pve!console', secret: '11111111-2222-3333-4444-555555555555' };
const TITLE = 'Web server · web01';

let sim: Simulator;
let client: ProxmoxClient;
let wss: WebSocketServer;
let url: string;
/** What the next browser connection is bridged to. */
let bridgeOptions: () => Partial<VncBridgeOptions>;
let outcomes: Promise<VncBridgeOutcome>[] = [];

function openGuest(vmid: number, node = 'pve1', passwordOverride?: string, onOpened?: (ws: WebSocket) => void): VncBridgeOptions['openUpstream'] {
  return async () => {
    const proxy = await client.vncproxy(TOKEN, node, 'qemu', vmid);
    const ws = await client.openVncWebsocket(TOKEN, node, 'qemu', vmid, proxy.port, proxy.ticket, { handshakeTimeoutMs: 5_000 });
    onOpened?.(ws);
    return { ws, vncPassword: passwordOverride ?? proxy.vncPassword };
  };
}

before(async () => {
  sim = await startSimulator({ host: '127.0.0.2', port: 0, durations: { loginFailureDelayMs: 50 } });
  client = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: sim.fingerprint }, { timeoutMs: 5_000 });
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 256 * 1024 });
  await once(wss, 'listening');
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  wss.on('connection', (ws) => {
    outcomes.push(
      runVncBridge(ws, {
        openUpstream: openGuest(100),
        title: () => TITLE,
        handshakeTimeoutMs: 5_000,
        log: silentLogger,
        viewOnly: false,
        clipboardMaxBytes: 65536,
        budget: new MessageBudget(1000),
        ...bridgeOptions(),
      }),
    );
  });
});

after(async () => {
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
  await client.close();
  await sim.stop();
});

async function browser(options: Partial<VncBridgeOptions> = {}): Promise<{ rfb: RfbTestClient; ws: WebSocket; outcome: () => Promise<VncBridgeOutcome> }> {
  bridgeOptions = () => options;
  outcomes = [];
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  // Listening before 'open': the bridge speaks first, possibly in the same packet as the 101.
  const rfb = RfbTestClient.overWebSocket(ws);
  await once(ws, 'open');
  return { rfb, ws, outcome: () => outcomes[0]! };
}

describe('VNC bridge against the simulator', () => {
  test('the browser gets security None, the title as desktop name, and a working console', async () => {
    let firstFrames = 0;
    let toBrowser = 0;
    let toUpstream = 0;
    const { rfb, outcome } = await browser({
      onFirstFrame: () => firstFrames++,
      onBytes: (down, up) => {
        toBrowser += down;
        toUpstream += up;
      },
    });
    const result = await rfb.handshake();
    assert.deepEqual(result.securityTypes, [1]);
    assert.equal(result.securityResult, 0);
    assert.equal(result.serverInit?.name, TITLE);
    assert.ok(result.serverInit!.width > 0);

    rfb.typeText('hi');
    rfb.requestUpdate(false, 0, 0, rfb.width, rfb.height);
    const update = await rfb.readFramebufferUpdate();
    assert.ok(update.rects.length > 0);
    for (let i = 0; i < 50 && !sim.received(100).text.includes('hi'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(sim.received(100).text, /hi/);
    assert.equal(firstFrames, 1);
    assert.ok(toBrowser > rfb.width * 4 && toUpstream > 0);

    rfb.close();
    assert.deepEqual(await outcome(), { reason: 'browser_closed' });
  });

  test('a guest that is not running: SecurityResult 1 with a reason for the user', async () => {
    const { rfb, outcome } = await browser({
      openUpstream: () => Promise.reject(new ProxmoxError('guest_not_running', 'Guest 101 on node pve1 is not running')),
    });
    const result = await rfb.handshake();
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'The server is not running. Start it from your control panel, then reconnect.');
    await rfb.closed;
    const end = await outcome();
    assert.equal(end.reason, 'upstream_failed');
    assert.ok(end.error instanceof ProxmoxError);
  });

  test('a stopped VM whose console closes at once: "could not be reached", nothing of Proxmox', async () => {
    const { rfb, outcome } = await browser({ openUpstream: openGuest(101) });
    const result = await rfb.handshake();
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'The console could not be reached.');
    assert.equal((await outcome()).reason, 'upstream_failed');
  });

  test('a refused VNC password fails the browser without the server\'s own text', async () => {
    const { rfb, outcome } = await browser({ openUpstream: openGuest(100, 'pve1', 'wrongpw!') });
    const result = await rfb.handshake();
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'The console refused the connection.');
    const end = await outcome();
    assert.equal(end.reason, 'upstream_failed');
    assert.match(end.error!.message, /Authentication failed/);
  });

  test('the upstream closing ends the browser connection: upstream_closed', async () => {
    let upstream: WebSocket | undefined;
    const { rfb, outcome } = await browser({ openUpstream: openGuest(100, 'pve1', undefined, (ws) => (upstream = ws)) });
    assert.equal((await rfb.handshake()).securityResult, 0);
    upstream!.terminate();
    await rfb.closed;
    assert.equal((await outcome()).reason, 'upstream_closed');
  });

  test('a browser speaking no RFB is a protocol error and the upstream is released', async () => {
    let upstream: WebSocket | undefined;
    const { ws, outcome } = await browser({ openUpstream: openGuest(100, 'pve1', undefined, (u) => (upstream = u)) });
    ws.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const end = await outcome();
    assert.equal(end.reason, 'protocol_error');
    if (upstream) {
      if (upstream.readyState !== WebSocket.CLOSED) await once(upstream, 'close');
      assert.equal(upstream.readyState, WebSocket.CLOSED);
    }
  });

  test('a browser that never answers is cut at the handshake deadline', async () => {
    const { ws, outcome } = await browser({ handshakeTimeoutMs: 300 });
    const end = await outcome();
    assert.equal(end.reason, 'protocol_error');
    assert.match(end.error!.message, /within 300 ms/);
    if (ws.readyState !== WebSocket.CLOSED) await once(ws, 'close');
  });

  test('an upstream that fails after the browser got SecurityResult OK: the connection closes, no failure result after the OK', async () => {
    // Proxmox drops the console right after VNC authentication (its version, types, challenge, result).
    sim.setFaults({ dropWebsocketAfterBytes: 12 + 2 + 16 + 4 });
    try {
      const { rfb, ws, outcome } = await browser();
      const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
      // ServerInit never comes, and nothing else does either (a failure result there would be read as one).
      await assert.rejects(rfb.handshake(), /stream closed after 0 of 24 bytes/);
      assert.deepEqual(await closed, [1000, 'console unavailable']);
      assert.equal((await outcome()).reason, 'upstream_failed');
    } finally {
      sim.setFaults({ dropWebsocketAfterBytes: null });
    }
  });

  test('an upstream that never opens is cut at the deadline with a reason for the user', async () => {
    const { rfb, outcome } = await browser({ handshakeTimeoutMs: 300, openUpstream: () => new Promise(() => {}) });
    const result = await rfb.handshake();
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'The console could not be reached.');
    const end = await outcome();
    assert.equal(end.reason, 'upstream_failed');
    // With the control API's code, which the gateway records as the session's last_error.
    assert.ok(isProxmoxError(end.error, 'proxmox_timeout'), String(end.error));
  });
});
